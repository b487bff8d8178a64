"""Who sees the outbox and who is told when mail fails (Y§22: the commission owns the platform's data;
mail subjects name cases, so only the commission's staff see the queue)."""
from __future__ import annotations

# Commission roles (center_id empty) that may see /outbox and `outbox list`, and are told of an outage.
OUTBOX_STAFF_ROLES = ("commission_reviewer", "section_head")
