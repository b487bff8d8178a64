"""The rectification orders pages (Y§25): every order, the counts per center and year that Y§26 reads,
the removal cases waiting for the commission, and the form the commission issues an order with.
Reads go through the read service; issuing goes to the same service as `qcflow orders issue`."""
from __future__ import annotations

from typing import Optional, Union

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from qcflow.core.clock import utcnow
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from qcflow.services import access, orders
from qcflow.services.mail import deliver_outbox
from qcflow.services.registry import center_rows
from qcflow.store.db import unit_of_work
from states.removal import ORDERS_PER_YEAR
from states.rules import Refused
from states.y25_grounds import GROUNDS
from web.auth import read_checked_form, signed_in
from web.render import page

router = APIRouter()


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request, center: Optional[str] = None, year: Optional[int] = None) -> HTMLResponse:
    """Orders with their counts per center and year; removal cases (Y§26) with their state."""
    person = signed_in(request)
    person_id = person.id if person else None
    try:
        with unit_of_work(read_only=True) as session:
            result = orders.list_orders(session, person_id, center or None, year)
            removals = access.visible_rows(session, "removal", person_id)
    except UserError as err:
        return page(request, "case_problem.html", 404, title="找不到此质控中心", explanation=str(err))
    return page(request, "orders.html", **result, removals=removals, grounds=GROUNDS,
                limit=ORDERS_PER_YEAR.value, center=center or "", year=year or "")


def _form(request: Request, status: int = 200, values: Optional[dict[str, str]] = None,
          reasons: tuple = ()) -> HTMLResponse:
    with unit_of_work(read_only=True) as session:
        centers = [c for c in center_rows(session) if c["status"] == "active"]
    return page(request, "orders_new.html", status, centers=centers, grounds=GROUNDS, values=values or {},
                reasons=[str(r) for r in reasons])


@router.get("/orders/new", response_class=HTMLResponse)
def new_order_form(request: Request) -> Response:
    """The form; who may issue is judged when it is sent (Y§25: the commission)."""
    if signed_in(request) is None:
        return RedirectResponse("/login?next=/orders/new", status_code=303)
    return _form(request)


@router.post("/orders/new", response_class=HTMLResponse)
async def new_order(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_issue, request, form)


def _issue(request: Request, form: dict[str, str]) -> Union[HTMLResponse, RedirectResponse]:
    person = signed_in(request)
    if person is None:
        return page(request, "case_problem.html", 401, title="请先登录", case=None, login_next="/orders/new",
                    explanation="下达整改通知须先登录，以便按您的身份检查权限并记录办理人。未做任何更改。")
    try:
        with unit_of_work() as session:
            out = orders.issue(session, form.get("center", ""), orders.parse_grounds([form.get("grounds", "")]),
                               form.get("due_date", ""), person.email, form.get("requirements", ""), utcnow(),
                               serious=form.get("serious") == "yes", serious_reason=form.get("serious_reason", ""))
    except Refused as refusal:
        return _form(request, 422, form, tuple(refusal.reasons))
    except UserError as err:
        return _form(request, 422, form, (str(err),))
    answer = RedirectResponse(f"/cases/rectification/{out['id']}", status_code=303)
    if get_settings().deliver_after_action:
        answer.background = BackgroundTask(deliver_outbox)
    return answer
