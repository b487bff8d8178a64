"""All tables; importing this module registers them on SQLModel.metadata."""
from models.cases import Case, CaseEvent, Deadline, Dispatch, DocumentCounter, DocumentNumber, TaskLink
from models.directory import CalendarDay, Center, Commission, Institution, Person, RoleAssignment
from models.deaths import AccessLog, LowRiskGroup
from models.meetings import Meeting
from models.registry import Appointment, Attachment
from models.outbox import OutboxMessage
from models.web import LinkOpening, LoginToken, PersonSetting, SignInRequest, WebSession

__all__ = [
    "AccessLog", "LowRiskGroup", "Appointment", "Attachment", "Case", "CaseEvent", "Deadline", "Dispatch", "CalendarDay", "Meeting", "DocumentCounter", "DocumentNumber", "TaskLink",
    "Center", "Commission", "Institution", "Person", "RoleAssignment", "OutboxMessage",
    "LinkOpening", "LoginToken", "PersonSetting", "SignInRequest", "WebSession",
]
