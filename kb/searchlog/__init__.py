"""The search log: the contract (`base.SearchLog` and its events), one module per backend
(`sqlite`, `postgres`), and `recorder` (what a service holds: events written in the
background, so a search never waits for the log). `api.backends` opens the log in use.
"""
