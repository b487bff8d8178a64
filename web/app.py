"""The pages people reach from their emails, and the local mailbox.

GET never changes anything: mail scanners open every link in a message, so only the POST from
the task page acts, once.
"""
from __future__ import annotations

import re
from types import SimpleNamespace
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from notifications.sink import list_messages, read_message
from qcflow import bootstrap
from qcflow import engine as case_engine
from qcflow.services.queries import person_by_id
from qcflow.core.clock import fmt_local, local_date, utcnow
from qcflow.core.runtime import get_settings
from qcflow.services.deaths import log_access, summary
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.services.queries import case_detail, case_rows, due_rows
from qcflow.services.registry import center_rows
from qcflow.store.db import unit_of_work
from qcflow.store.links import LINK_PROBLEMS, LinkCheck, check_link
from states.document import DOC_KINDS
from states.materials import SLOTS
from states.registry import WORKFLOWS
from states.rules import Conflict, Refused

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
_URL = re.compile(r"(https?://[^\s<>\"']+)")
PROBLEM_STATUS = {"forged": 400, "unknown": 404, "expired": 410, "used": 409, "superseded": 409}


def linkify(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(_URL.sub(r'<a href="\1">\1</a>', escaped))


templates.env.filters["linkify"] = linkify
templates.env.globals["doc_kinds"] = DOC_KINDS
templates.env.globals["material_slots"] = SLOTS

@asynccontextmanager
async def _lifespan(_app: FastAPI):
    bootstrap.ensure()  # `uvicorn web.app:app` builds the runtime from QCFLOW_*; tests and serve install theirs first
    yield


app = FastAPI(title="qcflow", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _problem(request: Request, check: LinkCheck, session: Session) -> HTMLResponse:
    title, explanation = LINK_PROBLEMS[check.status]
    detail = case_detail(session, check.case) if check.case is not None and check.status in ("used", "superseded") else None
    return _page(request, "problem.html", PROBLEM_STATUS[check.status], title=title, explanation=explanation, case=detail)


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


@app.exception_handler(StarletteHTTPException)
def _http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    if exc.status_code == 405:
        title, text = "不支持此操作", "这个地址不接受这种请求。请从邮件中的链接或页面上的按钮进入。"
    else:
        title, text = "页面不存在", "请检查地址，或从邮件中的链接、首页或本地邮箱进入。"
    return _page(request, "problem.html", exc.status_code, title=title, explanation=text, case=None)


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    with unit_of_work(read_only=True) as session:
        rows = {kind: case_rows(session, kind) for kind in WORKFLOWS}
    return _page(request, "home.html", rows=rows, workflows=WORKFLOWS,
                 sink=not get_settings().smtp_host)


@app.get("/t/{token}", response_class=HTMLResponse)
def show_task(request: Request, token: str) -> HTMLResponse:
    """Show the case and the decisions open to this person. Changes nothing."""
    with unit_of_work(read_only=True) as session:
        check = check_link(session, token)
        if not check.ok:
            return _problem(request, check, session)
        page = _page(request, "task.html", **_task_context(session, check), token=token, reasons=[], form={})
    if WORKFLOWS[check.case.kind].private and check.link.person_id is not None:
        with unit_of_work() as session:  # Y§22: every opening, recorded before the details leave
            log_access(session, check.case.id, check.link.person_id, "web")
    return page


@app.post("/t/{token}", response_class=HTMLResponse)
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
                return _page(request, "problem.html", 403, title="此链接只能查看",
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
                page = _page(request, "task.html", **context, token=token, reasons=[], form={}, done=done)
            else:
                check.link.used_at = utcnow()
                session.add(check.link)
                session.flush()
                page = _page(request, "done.html", case=case_detail(session, result.case), steps=done)
        if get_settings().deliver_after_action:
            page.background = BackgroundTask(_deliver_quietly)
        return page
    except Refused as refused:
        with unit_of_work() as session:
            check = check_link(session, token)
            return _page(request, "task.html", 422, **_task_context(session, check), token=token,
                         reasons=refused.reasons, form=form)
    except Conflict as conflict:
        with unit_of_work() as session:
            check = check_link(session, token)
            return _page(request, "problem.html", 409, title="事项已被他人处理", explanation=str(conflict),
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


@app.get("/due", response_class=HTMLResponse)
def due(request: Request, center: str = "", late: bool = False) -> HTMLResponse:
    """What is due and what is late, for one center or the whole commission."""
    with unit_of_work(read_only=True) as session:
        rows = due_rows(session, local_date(utcnow()), center or None)
        centers = center_rows(session)
    if late:
        rows = [r for r in rows if r["late"]]
    return _page(request, "due.html", rows=rows, centers=centers, center=center, late=late,
                 late_count=sum(r["late"] for r in rows))


@app.get("/deaths", response_class=HTMLResponse)
def deaths_summary(request: Request) -> HTMLResponse:
    """Counts only: reported, screened, low-risk, reviewed, on time, actions open and overdue."""
    with unit_of_work(read_only=True) as session:
        result = summary(session)
    return _page(request, "deaths.html", result=result)


@app.get("/mailbox", response_class=HTMLResponse)
def mailbox(request: Request) -> HTMLResponse:
    return _page(request, "mailbox.html", messages=list_messages(get_settings().maildir, fmt_local))


@app.get("/mailbox/{key}", response_class=HTMLResponse)
def mailbox_message(request: Request, key: str) -> HTMLResponse:
    message = read_message(get_settings().maildir, key, fmt_local)
    if message is None:
        return _page(request, "problem.html", 404, title="没有这封邮件", explanation="邮件可能已被删除。", case=None)
    return _page(request, "message.html", message=message, key=key)


@app.get("/mailbox/{key}/html")
def mailbox_message_html(request: Request, key: str) -> Response:
    message = read_message(get_settings().maildir, key, fmt_local)
    if message is None or not message.get("html"):
        return _page(request, "problem.html", 404, title="没有这封邮件", explanation="邮件可能已被删除。", case=None)
    return HTMLResponse(message["html"])
