"""Ingest jobs for uploads: the contract (`base.JobQueue`, the job record and `run_job`, which
ingests a job's files the same way in every queue), one module per backend (`local`: job
files in the home folder and a worker thread; `postgres`: a queue any replica or
`kb worker` runs). `api.backends` opens the queue in use.
"""
