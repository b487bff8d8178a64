"""我的待办 for the signed-in person, the digest preference, and the count in the header."""
from __future__ import annotations


from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context

from qcflow.services import tasks as task_service
from qcflow.store.db import unit_of_work
from web.auth import read_checked_form, signed_in
from web.render import page, templates

router = APIRouter()


def _tasks_of(request: Request) -> list[task_service.Task]:
    """Computed once per request (the header's count and the list share it)."""
    found = getattr(request.state, "qc_tasks", None)
    if found is None:
        person = signed_in(request)
        if person is None:
            return []
        with unit_of_work(read_only=True) as session:
            found = task_service.waiting_for(session, person.id)
        request.state.qc_tasks = found
    return found


@pass_context
def my_task_count(context) -> int:
    request = context.get("request")
    return len(_tasks_of(request)) if request is not None else 0


templates.env.globals["my_task_count"] = my_task_count


@router.get("/tasks", response_class=HTMLResponse)
def my_tasks(request: Request) -> Response:
    """Every step waiting for me, most urgent first."""
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/login", status_code=303)
    waiting = _tasks_of(request)
    with unit_of_work(read_only=True) as session:
        digest = task_service.digest_enabled(session, person.id)
    return page(request, "tasks.html", tasks=waiting, digest=digest, saved=request.query_params.get("saved") == "1")


@router.post("/tasks/digest")
async def set_digest(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/login", status_code=303)
    with unit_of_work() as session:
        task_service.set_digest(session, person.id, form.get("daily_digest") == "on")
    return RedirectResponse("/tasks?saved=1", status_code=303)
