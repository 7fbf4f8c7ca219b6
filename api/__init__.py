"""The service's interfaces, the only place where everything is wired together.

- `api.backends`: SQLite (the home folder) or PostgreSQL: the one place that branches on the
  backend; it opens the document store, the search log, the recommender's state and the job
  queue, and lists the migrations, for every interface below.
- `api.cli`: the `kb` command line (the core commands in `__init__.py`; one module per
  command group: `recommender.py`, `cycles.py`, `graph.py`, `analytics.py`, `serve.py` for
  `kb serve` and `kb keys`, `db.py`, `worker.py`; `common.py` for the context and JSON
  output).
- `api.http`: the HTTP service: `create_app`, `routes/` (one module per area, thin),
  `models.py` (every request body and response envelope), `deps.py` (what routes declare:
  services, the caller, the search recorder, the graph cache), `errors.py` (every domain error
  mapped to an HTTP answer, once), `auth.py` (keys and roles).
- `api.web`: the web pages, static files served by the same app.

A new endpoint goes in a `routes/` module (its models in `models.py`, its dependencies in
`deps.py`); a new page in `api/web/static/` plus its entry in `api.web.SITE`; a new command
in `api.cli`. None of them holds logic of their own: that lives in `ingest`, `kb` and
`recommender`.
"""
