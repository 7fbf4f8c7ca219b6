"""The service's edges: the `kb` command line and (later) the HTTP API."""
