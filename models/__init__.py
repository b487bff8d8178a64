"""All tables; importing this module registers them on SQLModel.metadata."""
from models.cases import Case, CaseEvent, Deadline, Dispatch, DocumentCounter, DocumentNumber, TaskLink
from models.directory import CalendarDay, Center, Commission, Institution, Person, RoleAssignment
from models.deaths import AccessLog, LowRiskGroup
from models.meetings import Meeting
from models.registry import Appointment, Attachment
from models.outbox import OutboxMessage
from models.governance import DispatchAgenda  # noqa: F401
from models.web import LinkOpening, LoginToken, PersonSetting, SignInRequest, WebSession
from models.improvement import ImprovementTarget  # noqa: F401
from models.compendium import CompendiumFile, CompendiumStudy, CompendiumVersion  # noqa: F401
from models.annual_report import AnnualReportVersion  # noqa: F401
from models.assessment import AssessmentResult, AssessmentRubric, FundingDeclaration  # noqa: F401
from models.indicators import IndicatorDefinition, IndicatorMean, IndicatorSet, IndicatorValue, SpotCheck, SpotCheckResult  # noqa: F401
from models.admin_audit import AdminAction  # noqa: F401

__all__ = [
    "AccessLog", "LowRiskGroup", "Appointment", "Attachment", "Case", "CaseEvent", "Deadline", "Dispatch", "CalendarDay", "Meeting", "DocumentCounter", "DocumentNumber", "TaskLink",
    "Center", "Commission", "Institution", "Person", "RoleAssignment", "OutboxMessage",
    "LinkOpening", "LoginToken", "PersonSetting", "SignInRequest", "WebSession",
]
