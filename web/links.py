"""The pages people reach from the links in their emails.

GET never changes a case: mail scanners open every link in a message, so only the POST from the
task page acts, once. A GET is recorded as "link opened" (LinkOpening: when, which user agent),
not as a read by the person, since a scanner cannot be told from a person; a private case's read
(Y§22) is recorded when the person acts, or opens it while signed in as themselves.

After a POST that acts, the answer is a redirect (303) to the link's page with `?done=<event>`,
so a refresh shows what the person did instead of submitting again.
"""
from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from models import LinkOpening
from qcflow import engine as case_engine
from qcflow.core.clock import utcnow
from qcflow.core.runtime import get_settings
from qcflow.services.access import readable_detail
from qcflow.services.case_page import case_content
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.services.queries import person_by_id
from qcflow.store.db import unit_of_work
from qcflow.store.links import LINK_PROBLEMS, LinkCheck, check_link
from qcflow.store.raw import Raw
from states.registry import WORKFLOWS
from states.rules import Conflict, Reason, Refused
from web.auth import read_form, require_csrf, signed_in
from web.forms import form_changes
from web.render import page

router = APIRouter()
PROBLEM_STATUS = {"forged": 400, "unknown": 404, "expired": 410, "used": 409, "superseded": 409}
BAD_VERSION = Reason("", "页面缺少有效的版本号，无法确认您看到的是事项的最新内容。未做任何更改，请刷新页面后重新提交。")


def _problem(request: Request, check: LinkCheck, session: Session) -> HTMLResponse:
    title, explanation = LINK_PROBLEMS[check.status]
    shown = _view_or_nothing(session, check) if check.status in ("used", "superseded") else {"case": None}
    return page(request, "problem.html", PROBLEM_STATUS[check.status], title=title, explanation=explanation, **shown)


def _link_view(session: Session, case: Any, link: Any, record: bool = False) -> dict[str, Any]:
    """The case as the link's person may see it (Y§22, the one read service), with the case page's content
    (names, 职称 and institutions instead of emails and codes). Not recorded as their read unless `record`:
    a GET of a link may be a mail scanner's. Raises Refused when they may not open it."""
    detail = readable_detail(session, case, link.person_id, "web", record=record, link_email=link.email)
    return {"case": detail, "content": case_content(session, case, detail["data"], link.person_id)}


def _view_or_nothing(session: Session, check: LinkCheck) -> dict[str, Any]:
    """The link person's view for a page about the link, or no case at all when they may not open it."""
    if check.case is None or check.link is None:
        return {"case": None}
    try:
        return _link_view(session, check.case, check.link)
    except Refused:
        return {"case": None}


def _task_context(session: Session, check: LinkCheck, shown: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The task page's content: the link person's view of the case and the decisions open to them."""
    link, case = check.link, check.case
    person = person_by_id(session, link.person_id) if link.person_id else None
    choices = case_engine.choices(session, case, person) if (person and link.purpose == "act") else []
    choices = _offered(case, choices)
    fields = WORKFLOWS[case.kind].fields_for(case.data) if any(c.takes_changes for c in choices) else {}
    return {**(shown or _link_view(session, case, link)), "choices": choices, "person": person,
            "recipient": person.name if person else _outside_name(case, link.email),
            "insider": person is not None, "fields": fields, "comment_hint": comment_hint(choices)}


def _offered(case: Any, choices: list) -> list:
    # A step that only changes content needs something to enter here (uploads go through the CLI).
    workflow = WORKFLOWS[case.kind]
    return [c for c in choices if c.dest or c.inputs or workflow.fields_for(case.data)]


def comment_hint(choices: list) -> str:
    """The comment box's placeholder, from the steps on offer: which need a comment, and why."""
    needed = [c.comment_required for c in choices if c.comment_required]
    return "；".join(needed) if needed else "选填"


def _outside_name(case, email: str) -> str:
    """An outside recipient (e.g. a hospital office) is greeted by the name the document lists."""
    for r in case.data.get("recipients", []):
        if isinstance(r, dict) and str(r.get("email", "")).lower() == email:
            return str(r.get("name") or email)
    return email


def _done_steps(session: Session, check: LinkCheck, done: str) -> list[str]:
    """The labels of what the link's person did in event `done` and the system steps it set off;
    empty when that event is not theirs on this case (a forged or stale `done`)."""
    if check.link is None:
        return []
    return done_labels(session, check.case.kind, check.case.id, check.link.person_id, done)


def done_labels(session: Session, kind: str, case_id: int, person_id: Optional[int], done: str) -> list[str]:
    """What `person_id` did in event `done` of this case and the system steps it set off, as the history
    has it; empty unless that event is theirs on this case (a `?done=` is only a claim in a URL)."""
    if not done.isdigit() or person_id is None or len(done) > 12:
        return []
    rows = Raw(session).rows('SELECT id, "trigger", actor_id FROM caseevent WHERE case_id = ? AND id >= ? ORDER BY id',
                             [case_id, int(done)])
    if not rows or rows[0][0] != int(done) or rows[0][2] != person_id:
        return []
    labels = WORKFLOWS[kind].transitions
    steps = [rows[0][1]] + [trigger for _, trigger, actor in _while_system(rows[1:])]
    return [labels[t].label if t in labels else t for t in steps]


def last_event_of(session: Session, case_id: int, person_id: int) -> Optional[int]:
    """The id of this person's latest event on the case (what a `?done=` names after their POST)."""
    return Raw(session).first("SELECT max(id) FROM caseevent WHERE case_id = ? AND actor_id = ?",
                              [case_id, person_id])[0]


def _while_system(rows: list[tuple]) -> list[tuple]:
    taken = []
    for row in rows:
        if row[2] is not None:
            break
        taken.append(row)
    return taken


@router.get("/t/{token}", response_class=HTMLResponse)
def show_task(request: Request, token: str, done: str = "") -> HTMLResponse:
    """Show the case and the decisions open to this person (or, after their POST, what they did)."""
    with unit_of_work(read_only=True) as session:
        check = check_link(session, token)
        steps = _done_steps(session, check, done) if check.link is not None else []
        if not check.ok and not (steps and check.status in ("used", "superseded")):
            return _problem(request, check, session)
    me = signed_in(request)
    with unit_of_work() as session:  # recorded before the page leaves
        session.add(LinkOpening(link_id=check.link.id, case_id=check.case.id, at=utcnow(),
                                user_agent=request.headers.get("user-agent", "")[:300]))
        try:
            # Y§22: the link person's view; a read only when they are signed in as themselves.
            shown = _link_view(session, check.case, check.link,
                               record=me is not None and me.id == check.link.person_id)
        except Refused as refused:
            session.flush()
            return page(request, "problem.html", 403, title="不能查看此事项",
                        explanation="；".join(str(r) for r in refused.reasons), case=None)
        session.flush()
        if not check.ok:
            return page(request, "done.html", **shown, steps=steps)
        return page(request, "task.html", **_task_context(session, check, shown=shown), token=token, reasons=[],
                    form={}, done=steps)


@router.post("/t/{token}", response_class=HTMLResponse)
async def act_on_task(request: Request, token: str) -> Response:
    """Act once on the decision the person chose on the task page."""
    form = await read_form(request)
    if isinstance(form, HTMLResponse):
        return form
    return await run_in_threadpool(_act, request, token, form)


def _act(request: Request, token: str, form: dict[str, str]) -> Response:
    decision = form.get("decision", "")
    try:
        with unit_of_work() as session:
            check = check_link(session, token, lock=True)
            if not check.ok:
                return _problem(request, check, session)
            if check.link.purpose != "act" or check.link.person_id is None:
                return page(request, "problem.html", 403, title="此链接只能查看",
                            explanation="这个链接用于阅读，不能提交决定。", **_view_or_nothing(session, check))
            if (refused := require_csrf(request, form)) is not None:
                return refused
            seen = _seen_version(form)
            if seen is None:
                raise Refused([BAD_VERSION])
            result = case_engine.fire(
                session, check.case.kind, check.case.id, decision, person_id=check.link.person_id,
                comment=form.get("comment", ""), changes=form_changes(check.case, decision, form),
                expected_version=seen,
            )
            if _offered(result.case, case_engine.choices_after(session, result)):
                # Still this person's turn (saved an edit, started a review): the link stays theirs.
                check.link.case_version, check.link.case_round = result.case.version, result.case.round
            else:
                check.link.used_at = utcnow()
            session.add(check.link)
            session.flush()
            _record_read(session, result.case, check.link.person_id)
            event = last_event_of(session, result.case.id, check.link.person_id)
        answer = RedirectResponse(f"/t/{token}?done={event}", status_code=303)
        if get_settings().deliver_after_action:
            answer.background = BackgroundTask(_deliver_quietly)
        return answer
    except Refused as refused:
        with unit_of_work(read_only=True) as session:
            check = check_link(session, token)
            if not check.ok:
                return _problem(request, check, session)
            return page(request, "task.html", 422, **_task_context(session, check), token=token,
                        reasons=refused.reasons, form=form)
    except Conflict as conflict:
        with unit_of_work(read_only=True) as session:
            check = check_link(session, token)
            return page(request, "problem.html", 409, title="事项已被他人处理", explanation=str(conflict),
                        **_view_or_nothing(session, check))


def _record_read(session: Session, case: Any, person_id: int) -> None:
    """Y§22: the person who acted on a private case has read it."""
    if WORKFLOWS[case.kind].private:
        try:
            readable_detail(session, case, person_id, "web")
        except Refused:
            pass  # they acted through their own link but may no longer read the details: nothing was read


def _seen_version(form: dict[str, str]) -> Optional[int]:
    """The version the page showed (acting on an older view is a conflict); None when absent or not a number."""
    value = form.get("version", "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _deliver_quietly() -> None:
    """Send the emails this action queued; failures stay in the outbox for the flow to retry."""
    deliver()
