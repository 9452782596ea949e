"""The audit trail: who did what to which resource, with what outcome.

- `AuditObserver`: every state-changing SCIM write, in its own transaction (before and
  after, secrets redacted);
- `record_detached`: a refused or failed SCIM request, in a short transaction of its own
  after the request's rolled back (web/scim.py);
- `record`: admin actions (admin/audit.py);
- `query` / `export`: reading it back (admin API)."""

from scimhub.audit.log import AuditObserver, Entry, record, record_detached
from scimhub.audit.query import AuditQuery, query

__all__ = ["AuditObserver", "AuditQuery", "Entry", "query", "record", "record_detached"]
