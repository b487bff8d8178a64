"""Every mail every step of every workflow can send renders from the context the engine gives it
(a template naming something the engine does not provide fails here, not at delivery)."""
from __future__ import annotations

import pytest

from notifications.compose import compose
from qcflow.core.clock import utcnow
from qcflow.engine.core import CaseRecord
from qcflow.engine.notify import Notifier
from qcflow.store.db import unit_of_work
from qcflow.store.raw import Raw
from states import privacy
from states.registry import WORKFLOWS

pytestmark = pytest.mark.db

DELIVERY_NAMES = {"commission_name": "青川市卫生健康委员会", "center_name": "青川市心血管病医疗质量控制中心",
                  "doc_number": ""}  # what qcflow.services.mail.enrich adds when the mail goes out


def _notices():
    for kind, workflow in WORKFLOWS.items():
        for state, entered in workflow.on_enter.items():
            for notice in entered.notify:
                yield pytest.param(kind, state, notice.template, {}, id=f"{kind}-{state}-{notice.template}")
        for transition in workflow.transitions.values():
            for notice in transition.notify:
                state = transition.dest or transition.sources[0]
                yield pytest.param(kind, state, notice.template, {}, id=f"{kind}-{transition.trigger}-{notice.template}")
        for spec in workflow.deadlines:
            for template in ("deadline_reminder", "deadline_escalation"):
                extra = {"due_date": "2026年12月08日", "step_label": spec.label}
                yield pytest.param(kind, spec.states[0], template, extra, id=f"{kind}-{spec.step}-{template}")


@pytest.mark.parametrize("kind,state,template,extra", list(_notices()))
def test_the_mail_renders_with_the_engines_context(demo, kind, state, template, extra):
    workflow = WORKFLOWS[kind]
    now = utcnow()
    case = CaseRecord(1, kind, state, 2, 1, "关于召开质控工作会议的通知", None, None, None, {}, now, now)
    with unit_of_work() as s:
        context = Notifier(Raw(s), workflow, case, [], now).base_context()
    email = compose(template, **{**DELIVERY_NAMES, **context, **extra, "recipient_name": "周文清",
                                 "link": "http://127.0.0.1:8000/t/x"})
    assert email.subject and "周文清" in email.text and "http://127.0.0.1:8000/t/x" in email.text
    if not privacy.titled_for_its_recipients(kind, workflow.private):  # Y§22: named by its number only
        assert case.title not in email.subject + email.text
