"""The pages people reach from the links in their emails.

GET never changes anything: mail scanners open every link in a message, so only the POST from
the task page acts, once.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from qcflow import engine as case_engine
from qcflow.core.clock import utcnow
from qcflow.core.runtime import get_settings
from qcflow.services.deaths import log_access
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.services.queries import case_detail, person_by_id
from qcflow.store.db import unit_of_work
from qcflow.store.links import LINK_PROBLEMS, LinkCheck, check_link
from states.registry import WORKFLOWS
from states.rules import Conflict, Refused
from web.render import page

router = APIRouter()
PROBLEM_STATUS = {"forged": 400, "unknown": 404, "expired": 410, "used": 409, "superseded": 409}


def _problem(request: Request, check: LinkCheck, session: Session) -> HTMLResponse:
    title, explanation = LINK_PROBLEMS[check.status]
    detail = case_detail(session, check.case) if check.case is not None and check.status in ("used", "superseded") else None
    return page(request, "problem.html", PROBLEM_STATUS[check.status], title=title, explanation=explanation, case=detail)


def _task_context(session: Session, check: LinkCheck, after: Optional[case_engine.FireResult] = None) -> dict[str, Any]:
    """The task page's content; `after` a step, from what the step already loaded."""
    link, case = check.link, (after.case if after else check.case)
    if after is not None and after.actor.person_id == link.person_id:
        person = SimpleNamespace(id=after.actor.person_id, name=after.actor.name)  # the step loaded them already
    else:
        person = person_by_id(session, link.person_id) if link.person_id else None
    workflow = WORKFLOWS[case.kind]
    if after is not None:
        choices = case_engine.choices_after(session, after)
    else:
        choices = case_engine.choices(session, case, person) if (person and link.purpose == "act") else []
    # A step that only changes content needs something to enter here (uploads go through the CLI).
    choices = [c for c in choices if c.dest or c.inputs or workflow.fields]
    fields = workflow.fields if any(c.takes_changes for c in choices) else {}
    return {"case": case_detail(session, case), "choices": choices, "person": person,
            "recipient": person.name if person else _outside_name(case, link.email),
            "insider": person is not None, "fields": fields}


def _outside_name(case, email: str) -> str:
    """An outside recipient (e.g. a hospital office) is greeted by the name the document lists."""
    for r in case.data.get("recipients", []):
        if isinstance(r, dict) and str(r.get("email", "")).lower() == email:
            return str(r.get("name") or email)
    return email


@router.get("/t/{token}", response_class=HTMLResponse)
def show_task(request: Request, token: str) -> HTMLResponse:
    """Show the case and the decisions open to this person. Changes nothing."""
    with unit_of_work(read_only=True) as session:
        check = check_link(session, token)
        if not check.ok:
            return _problem(request, check, session)
        answer = page(request, "task.html", **_task_context(session, check), token=token, reasons=[], form={})
    if WORKFLOWS[check.case.kind].private and check.link.person_id is not None:
        with unit_of_work() as session:  # Y§22: every opening, recorded before the details leave
            log_access(session, check.case.id, check.link.person_id, "web")
    return answer


@router.post("/t/{token}", response_class=HTMLResponse)
async def act_on_task(request: Request, token: str) -> HTMLResponse:
    """Act once on the decision the person chose on the task page."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await run_in_threadpool(_act, request, token, form)


def _act(request: Request, token: str, form: dict[str, str]) -> HTMLResponse:
    decision = form.get("decision", "")
    try:
        with unit_of_work() as session:
            check = check_link(session, token, lock=True)
            if not check.ok:
                return _problem(request, check, session)
            if check.link.purpose != "act" or check.link.person_id is None:
                return page(request, "problem.html", 403, title="此链接只能查看",
                             explanation="这个链接用于阅读，不能提交决定。", case=case_detail(session, check.case))
            result = case_engine.fire(
                session, check.case.kind, check.case.id, decision, person_id=check.link.person_id,
                comment=form.get("comment", ""), changes=_changes(check, decision, form),
                expected_version=_seen_version(form, check),
            )
            labels = WORKFLOWS[result.case.kind].transitions
            done = [labels[trigger].label for trigger, _, _ in result.steps]
            context = _task_context(session, check, after=result)
            if context["choices"]:
                # Still this person's turn (saved an edit, started a review): the link stays theirs.
                check.link.case_version, check.link.case_round = result.case.version, result.case.round
                session.add(check.link)
                session.flush()
                answer = page(request, "task.html", **context, token=token, reasons=[], form={}, done=done)
            else:
                check.link.used_at = utcnow()
                session.add(check.link)
                session.flush()
                answer = page(request, "done.html", case=case_detail(session, result.case), steps=done)
        if get_settings().deliver_after_action:
            answer.background = BackgroundTask(_deliver_quietly)
        return answer
    except Refused as refused:
        with unit_of_work() as session:
            check = check_link(session, token)
            return page(request, "task.html", 422, **_task_context(session, check), token=token,
                         reasons=refused.reasons, form=form)
    except Conflict as conflict:
        with unit_of_work() as session:
            check = check_link(session, token)
            return page(request, "problem.html", 409, title="事项已被他人处理", explanation=str(conflict),
                         case=case_detail(session, check.case) if check.case else None)


def _seen_version(form: dict[str, str], check: LinkCheck) -> int:
    """The version the page showed: acting on an older view of the case is a conflict."""
    try:
        return int(form.get("version", ""))
    except ValueError:
        return check.case.version


def _deliver_quietly() -> None:
    """Send the emails this action queued; failures stay in the outbox for the flow to retry."""
    deliver()


def _changes(check: LinkCheck, decision: str, form: dict[str, str]) -> dict[str, Any]:
    workflow = WORKFLOWS[check.case.kind]
    transition = workflow.transitions.get(decision)
    if transition is None or not transition.takes_changes:
        return {}
    changes: dict[str, Any] = {k: form[k] for k in workflow.fields if k in form and form[k] != check.case.data.get(k)}
    for item in transition.inputs:
        value = _entered(item, form.get(f"{decision}.{item.name}", ""))
        head, _, rest = item.name.partition(".")
        if rest:
            changes.setdefault(head, {})[rest] = value
        else:
            changes[head] = value
    return changes


def _entered(item, value: str) -> Any:
    """A form field as the step expects it: lines become a list, table rows become dicts (split on |)."""
    lines = [v.strip() for v in value.splitlines() if v.strip()]
    if item.kind == "lines":
        return lines
    if item.kind == "table":
        columns = [c for c, _ in item.options]
        return [dict(zip(columns, (cell.strip() for cell in line.replace("｜", "|").split("|")))) for line in lines]
    return value


