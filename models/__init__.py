"""All tables; importing this module registers them on SQLModel.metadata."""
from models.cases import Case, CaseEvent, Deadline, DocumentCounter, DocumentNumber, TaskLink
from models.directory import Center, Commission, Institution, Person, RoleAssignment
from models.outbox import OutboxMessage

__all__ = [
    "Case", "CaseEvent", "Deadline", "DocumentCounter", "DocumentNumber", "TaskLink",
    "Center", "Commission", "Institution", "Person", "RoleAssignment", "OutboxMessage",
]
