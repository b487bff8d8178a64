"""Templates and the helpers every page uses to answer."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from states.document import DOC_KINDS
from states.materials import SLOTS

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
_URL = re.compile(r"(https?://[^\s<>\"']+)")


def linkify(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(_URL.sub(r'<a href="\1">\1</a>', escaped))


templates.env.filters["linkify"] = linkify
templates.env.globals["doc_kinds"] = DOC_KINDS
templates.env.globals["material_slots"] = SLOTS


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    # Cookies that rendering asked for (e.g. web.auth's CSRF cookie, made by csrf_field()).
    for key, value, options in getattr(request.state, "set_cookies", ()):
        response.set_cookie(key, value, **options)
    return response


def not_found(request: Request, title: str, explanation: str) -> HTMLResponse:
    return page(request, "problem.html", 404, title=title, explanation=explanation, case=None)
