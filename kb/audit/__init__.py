"""The audit log: the contract (`base.AuditLog`, `base.AuditRecord`, the hash chain) and one
module per backend (`sqlite`, `postgres`). `api.backends` opens the log in use."""

from kb.audit.base import ACTIONS, AuditLog, AuditRecord, record_hash

__all__ = ["ACTIONS", "AuditLog", "AuditRecord", "record_hash"]
