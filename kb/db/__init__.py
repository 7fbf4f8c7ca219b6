"""Database plumbing every package shares, one module per engine: `sqlite` (opening a file
that many threads and processes share: WAL, the writer's wait, one write transaction) and
`postgres` (connections, pools, each part's numbered migrations, URLs never shown whole:
`urls`), and what a background thread logs when its database is away (`outage`). Nothing
here knows a table of its own: each store owns its schema.
"""
