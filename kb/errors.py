"""Errors the knowledge base raises; each message tells the user what to do."""


class KBError(Exception):
    """Base class: a problem the user can act on (printed as a sentence, not a traceback)."""


class StoreMismatchError(KBError):
    """The store on disk was built with another model or format."""


class EmptyQueryError(KBError):
    """A search was asked with nothing to search for."""


class EmptyStoreError(KBError):
    """A search was asked of a store that holds no documents yet."""


class NotFoundError(KBError):
    """A document id or source that the store does not hold."""


class ModelLoadError(KBError):
    """The embedding model could not be loaded from the configured path."""
