"""The service's interfaces, the only place where everything is wired together.

- `api.cli`: the `kb` command line (one module per command group: `recommender.py`,
  `serve.py` for `kb serve` and `kb keys`; `common.py` for the context and JSON output).
- `api.http`: the HTTP service: `create_app`, `routes/` (one module per area), `deps.py`
  (what routes declare), `schemas.py` (request bodies and envelopes), `errors.py` (every
  domain error mapped to an HTTP answer, once), `auth.py` (keys and roles).
- `api.web`: the web pages, static files served by the same app.

A new endpoint goes in a `routes/` module; a new page in `api/web/static/` plus its route
in `api.web`; a new command in `api.cli`. None of them holds logic of their own: that lives
in `ingest`, `kb` and `recommender`, and `kb.open_knowledge_base` builds the knowledge base
for all of them.
"""
