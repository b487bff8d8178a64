"""Sign-in over HTTP, the session cookie, and CSRF protection for every form.

This module only adapts HTTP: the rules of sign-in (one-time links, expiry, rate limits, sessions)
live in qcflow.services.signin.

For every page module:
- `signed_in(request)` → SimpleNamespace(id, name, email) of the signed-in person, or None;
- every form renders `{{ csrf_field() }}` (a Jinja global), and every POST handler starts with
  `if (refused := require_csrf(request, form)) is not None: return refused`;
- `await read_form(request)` reads a form with a field limit and answers a flood with a 413 page.

CSRF is a signed double submit: a random value in an HttpOnly cookie, and in the form an HMAC of
it under the server's secret, so a page on another site can neither read nor forge the pair.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from types import SimpleNamespace
from typing import Any, Optional, Union

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context
from markupsafe import Markup
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from qcflow.core.runtime import get_settings
from qcflow.services import signin
from qcflow.services.mail import deliver_outbox
from qcflow.store.db import unit_of_work
from states.rules import Refused
from web.render import page, templates

router = APIRouter()

SESSION_COOKIE = "qc_session"
CSRF_COOKIE = "qc_csrf"
CSRF_FIELD = "csrf"
MAX_FORM_FIELDS = 300  # the largest real form has a few dozen fields

TOKEN_STATUS = {"unknown": 404, "expired": 410, "used": 409}
_SIGNED_IN = "_qc_signed_in"


def _cookie_options(request: Request, max_age: Optional[int]) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https", "path": "/",
            "max_age": max_age}


def _later_cookie(request: Request, key: str, value: str, max_age: Optional[int]) -> None:
    """A cookie for the response the page is rendering (web.render.page sets them)."""
    pending = getattr(request.state, "set_cookies", None)
    if pending is None:
        pending = request.state.set_cookies = []
    pending.append((key, value, _cookie_options(request, max_age)))


# --- who is signed in -------------------------------------------------------------------------

def signed_in(request: Request) -> Optional[SimpleNamespace]:
    """The person signed in on this browser (id, name, email), or None. Looked up once per request."""
    if hasattr(request.state, _SIGNED_IN):
        return getattr(request.state, _SIGNED_IN)
    secret = request.cookies.get(SESSION_COOKIE, "")
    person = None
    if secret:
        with unit_of_work(read_only=True) as session:
            person = signin.person_of_session(session, secret, touch=False)
        if person is not None and person.stale:
            with unit_of_work() as session:
                signin.touch_session(session, secret)
    found = SimpleNamespace(id=person.id, name=person.name, email=person.email) if person else None
    setattr(request.state, _SIGNED_IN, found)
    return found


@pass_context
def _signed_in_global(context) -> Optional[SimpleNamespace]:
    request = context.get("request")
    return signed_in(request) if request is not None else None


# --- CSRF -------------------------------------------------------------------------------------

def _sign(value: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"csrf:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry; sets the cookie on this response when the browser has none."""
    value = getattr(request.state, "csrf_value", None)
    if value is None:
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) < 20:
            value = secrets.token_urlsafe(24)
            _later_cookie(request, CSRF_COOKIE, value, int(signin.SESSION_MAX.total_seconds()))
        request.state.csrf_value = value
    return _sign(value)


@pass_context
def csrf_field(context) -> Markup:
    """The hidden input every form includes: {{ csrf_field() }}."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{csrf_token(context["request"])}">')


def csrf_ok(request: Request, form: dict[str, Any]) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    return bool(cookie) and isinstance(sent, str) and hmac.compare_digest(sent, _sign(cookie))


def require_csrf(request: Request, form: dict[str, Any]) -> Optional[HTMLResponse]:
    """None when the form carries this browser's CSRF token; else the 403 page to return."""
    if csrf_ok(request, form):
        return None
    return page(request, "problem.html", 403, title="表单已失效，未做任何更改",
                explanation="这个表单缺少有效的安全校验码（可能页面打开太久、浏览器禁用了 Cookie，或表单来自其他网站）。"
                            "请返回原页面刷新后重新提交。", case=None)


async def read_form(request: Request) -> Union[dict[str, str], HTMLResponse]:
    """The form's text fields, or a 413 page when it has far more fields than any of our forms."""
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=20)
    except StarletteHTTPException:
        return page(request, "problem.html", 413, title="提交的内容过多，未做任何更改",
                    explanation=f"表单最多可包含 {MAX_FORM_FIELDS} 项，本次提交超出限制。请从页面上的表单重新填写提交。",
                    case=None)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def read_checked_form(request: Request) -> Union[dict[str, str], Response]:
    """A form POSTed from one of our pages: its text fields, or the page saying why it is refused
    (too many fields: 413; no valid CSRF token: 403)."""
    form = await read_form(request)
    if isinstance(form, HTMLResponse):
        return form
    if (refused := require_csrf(request, form)) is not None:
        return refused
    return form


templates.env.globals["csrf_field"] = csrf_field
templates.env.globals["signed_in"] = _signed_in_global


# --- the sign-in pages ------------------------------------------------------------------------

def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, out: str = "") -> HTMLResponse:
    """Ask for an email; the link comes by mail."""
    return page(request, "login.html", email="", reasons=[], signed_out=bool(out))


@router.post("/login", response_class=HTMLResponse)
async def ask_for_link(request: Request) -> HTMLResponse:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    email = form.get("email", "")
    try:
        await run_in_threadpool(_request_link, email, _client(request))
    except Refused as refusal:
        status = 429 if isinstance(refusal, signin.RateLimited) else 422
        return page(request, "login.html", status, email=email, reasons=refusal.reasons)
    # The same answer, sent as fast, whether the email is in the directory or not: the mail goes
    # out after the answer (failures stay in the outbox for the flow to retry).
    answer = page(request, "login_sent.html", email=signin.normalized_email(email),
                  minutes=int(signin.LINK_LIFETIME.total_seconds() // 60))
    if get_settings().deliver_after_action:
        answer.background = BackgroundTask(deliver_outbox)
    return answer


def _request_link(email: str, client: str) -> None:
    with unit_of_work() as session:
        signin.request_link(session, email, client)


@router.get("/login/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """Show a 登录 button. Opening the link signs nobody in: mail scanners open every link."""
    with unit_of_work(read_only=True) as session:
        status = signin.token_status(session, token)
    if status != "ok":
        return _token_problem(request, status)
    return page(request, "login_confirm.html", token=token)


def _token_problem(request: Request, status: str) -> HTMLResponse:
    title, explanation = signin.TOKEN_PROBLEMS[status]
    return page(request, "login_problem.html", TOKEN_STATUS[status], title=title, explanation=explanation)


@router.post("/login/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: str) -> Response:
    form = await read_form(request)
    if isinstance(form, HTMLResponse):
        return form
    with unit_of_work(read_only=True) as session:
        status = signin.token_status(session, token)
    if status != "ok":  # a spent or bad link says so, whatever the form carries
        return _token_problem(request, status)
    if (refused := require_csrf(request, form)) is not None:
        return refused
    agent = request.headers.get("user-agent", "")
    try:
        done = await run_in_threadpool(_confirm, token, agent)
    except signin.TokenRefused as refusal:
        return _token_problem(request, refusal.status)
    answer = RedirectResponse("/tasks", status_code=303)
    answer.set_cookie(SESSION_COOKIE, done.session_token, **_cookie_options(request, done.max_age))
    return answer


def _confirm(token: str, agent: str) -> signin.SignedIn:
    with unit_of_work() as session:
        return signin.confirm(session, token, agent)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    secret = request.cookies.get(SESSION_COOKIE, "")
    with unit_of_work() as session:
        signin.end_session(session, secret)
    answer = RedirectResponse("/login?out=1", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                         secure=request.url.scheme == "https")
    return answer
