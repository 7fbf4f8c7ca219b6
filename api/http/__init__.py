"""The HTTP service: `create_app` (app.py), routes/, the dependencies routes declare (deps.py),
the request and response models (models.py), keys and roles (auth.py), and the one mapping of
domain errors to HTTP answers (errors.py)."""
