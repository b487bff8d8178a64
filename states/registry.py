"""Every workflow by case kind."""
from states.application import WORKFLOW as APPLICATION
from states.death_review import WORKFLOW as DEATH_REVIEW
from states.document import WORKFLOW as DOCUMENT
from states.report import WORKFLOW as REPORT
from states.workflow import Workflow

WORKFLOWS: dict[str, Workflow] = {w.kind: w for w in (DOCUMENT, REPORT, APPLICATION, DEATH_REVIEW)}
