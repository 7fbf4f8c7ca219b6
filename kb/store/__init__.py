"""The document store: its contract (`base`), one module per backend (`sqlite`, `postgres`),
what both share (`rows`), the faiss mirror the SQLite store's vectors are searched in
(`mirror`, over `vectors`, rebuildable from the store), the lexical indexes (`lexical/`),
and copying between stores (`migrate`).

A new backend implements `base.DocumentStore` in a module here and is opened by its class in
`api.backends`; `tests/contracts/` runs one suite over every backend.
"""
