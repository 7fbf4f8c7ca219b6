"""The one error ingestion raises for a file it cannot take; the batch goes on without it."""


class UnreadableFile(Exception):
    """A file was skipped; the message says why and, where possible, how to fix it."""
