"""The local mail sink's messages: a development aid, never part of a real installation.

The pages exist only while the local sink is on (no SMTP server configured: `qcflow serve` then
runs one on 127.0.0.1 and points delivery at it) and answer only to a browser on the same machine:
the mails carry task links, and a task link lets whoever holds it act as its recipient (Y§22).
"""
from __future__ import annotations

from ipaddress import ip_address
from typing import Any, Optional

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from notifications.sink import list_messages, read_message
from qcflow.core.clock import fmt_local
from qcflow.core.runtime import get_settings
from web.render import not_found, page, templates

router = APIRouter()

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# A request that passed a proxy says so; its peer address (the proxy) proves nothing about the browser.
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")


def local_sink_on(settings: Any) -> bool:
    """No SMTP server configured, or the one `qcflow serve` started on this machine's sink port."""
    host = (settings.smtp_host or "").strip().lower()
    return not host or (host in _LOOPBACK_NAMES and settings.smtp_port == settings.sink_port)


# The nav shows the mailbox link only while there is a mailbox to open.
templates.env.globals["local_mailbox_on"] = lambda: local_sink_on(get_settings())


def _loopback(request: Request) -> bool:
    if any(h in request.headers for h in _PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _refusal(request: Request) -> Optional[HTMLResponse]:
    """The answer when the mailbox may not be shown to this request; None when it may."""
    if not local_sink_on(get_settings()):
        return not_found(request, "页面不存在", "已配置邮件服务器，邮件直接发到各人的邮箱；本机不再保存邮件，也没有本地邮箱。")
    if not _loopback(request):
        return page(request, "problem.html", 403, title="本地邮箱只能在本机打开",
                    explanation="本地邮箱是开发和演示用的，里面有发给所有人的办理链接，只允许在运行平台的这台电脑上"
                                "（127.0.0.1）打开（Y§22）。请在本机浏览器中访问，或查看自己的邮箱。", case=None)
    return None


@router.get("/mailbox", response_class=HTMLResponse)
def mailbox(request: Request, to: str = "") -> HTMLResponse:
    refused = _refusal(request)
    if refused is not None:
        return refused
    messages = list_messages(get_settings().maildir, fmt_local)
    recipients = sorted({m["to"] for m in messages})
    if to:
        messages = [m for m in messages if to.strip().lower() in m["to"].lower()]
    return page(request, "mailbox.html", messages=messages, recipients=recipients, to=to)


@router.get("/mailbox/{key}", response_class=HTMLResponse)
def mailbox_message(request: Request, key: str) -> HTMLResponse:
    refused = _refusal(request)
    if refused is not None:
        return refused
    message = read_message(get_settings().maildir, key, fmt_local)
    if message is None:
        return page(request, "problem.html", 404, title="没有这封邮件", explanation="邮件可能已被删除。", case=None)
    return page(request, "message.html", message=message, key=key)


@router.get("/mailbox/{key}/html")
def mailbox_message_html(request: Request, key: str) -> Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    message = read_message(get_settings().maildir, key, fmt_local)
    if message is None or not message.get("html"):
        return page(request, "problem.html", 404, title="没有这封邮件", explanation="邮件可能已被删除。", case=None)
    return HTMLResponse(message["html"])
