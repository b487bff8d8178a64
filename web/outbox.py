"""The outbox for the commission's staff: mail waiting or failed, the mail server's back-off, the outage
alert, the sending quota. Subjects only, never bodies: a mail's body holds task links (credentials)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qcflow.core.runtime import get_settings
from qcflow.services.outbox_admin import is_outbox_staff, mail_rows, queue_status
from qcflow.store.db import unit_of_work
from web.auth import signed_in
from web.render import page

router = APIRouter()


@router.get("/outbox", response_class=HTMLResponse)
def outbox(request: Request, failed: bool = False) -> Response:
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/login", status_code=303)
    with unit_of_work(read_only=True) as session:
        if not is_outbox_staff(session, person.id):
            return page(request, "problem.html", 403, title="无权查看发件箱",
                        explanation="发件箱只对卫健委医政医管科工作人员开放（Y§22：邮件主题涉及质控事项）。", case=None)
        status = queue_status(session, get_settings())
        rows = mail_rows(session, get_settings(), failed_only=failed)
    return page(request, "outbox.html", queue=status, rows=rows, failed=failed)
