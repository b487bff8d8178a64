"""The local mail sink's messages, for the demo and for development."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from notifications.sink import list_messages, read_message
from qcflow.core.clock import fmt_local
from qcflow.core.runtime import get_settings
from web.render import page

router = APIRouter()


@router.get("/mailbox", response_class=HTMLResponse)
def mailbox(request: Request) -> HTMLResponse:
    return page(request, "mailbox.html", messages=list_messages(get_settings().maildir, fmt_local))


@router.get("/mailbox/{key}", response_class=HTMLResponse)
def mailbox_message(request: Request, key: str) -> HTMLResponse:
    message = read_message(get_settings().maildir, key, fmt_local)
    if message is None:
        return page(request, "problem.html", 404, title="没有这封邮件", explanation="邮件可能已被删除。", case=None)
    return page(request, "message.html", message=message, key=key)


@router.get("/mailbox/{key}/html")
def mailbox_message_html(request: Request, key: str) -> Response:
    message = read_message(get_settings().maildir, key, fmt_local)
    if message is None or not message.get("html"):
        return page(request, "problem.html", 404, title="没有这封邮件", explanation="邮件可能已被删除。", case=None)
    return HTMLResponse(message["html"])
