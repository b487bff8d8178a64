"""Every workflow by case kind."""
from states.application import WORKFLOW as APPLICATION
from states.assessment import WORKFLOW as ASSESSMENT
from states.death_review import WORKFLOW as DEATH_REVIEW
from states.document import WORKFLOW as DOCUMENT
from states.guidance import WORKFLOW as GUIDANCE
from states.improvement_plan import WORKFLOW as IMPROVEMENT_PLAN
from states.compendium import WORKFLOW as COMPENDIUM
from states.annual_report import WORKFLOW as ANNUAL_REPORT
from states.inspection import PLAN as INSPECTION_PLAN, WORKFLOW as INSPECTION
from states.inspection_rectification import WORKFLOW as INSPECTION_RECTIFICATION
from states.rectification import WORKFLOW as RECTIFICATION
from states.removal import WORKFLOW as REMOVAL
from states.report import WORKFLOW as REPORT
from states.workflow import Workflow
from states.terms import WORKFLOW as TERM
from states.vacancy import WORKFLOW as VACANCY
from states.handover import WORKFLOW as HANDOVER

WORKFLOWS: dict[str, Workflow] = {w.kind: w for w in (DOCUMENT, REPORT, APPLICATION, DEATH_REVIEW)}
WORKFLOWS.update({w.kind: w for w in (IMPROVEMENT_PLAN, COMPENDIUM, ANNUAL_REPORT)})  # H1, H2, H6 (issue 13)
WORKFLOWS[GUIDANCE.kind] = GUIDANCE  # H3 targeted guidance (issue 13 part A)
WORKFLOWS.update({w.kind: w for w in (RECTIFICATION, REMOVAL)})  # Y§25, Y§26 (issue 9 part B)
WORKFLOWS.update({w.kind: w for w in (TERM, VACANCY, HANDOVER)})  # Y§26, Y§27 (issue 10 part B)
WORKFLOWS[ASSESSMENT.kind] = ASSESSMENT  # Y§24 annual assessment (issue 9 part A)
WORKFLOWS.update({w.kind: w for w in (INSPECTION_PLAN, INSPECTION, INSPECTION_RECTIFICATION)})  # Y§14(四), Y§20 (issue 10 part A)
