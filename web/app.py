"""The web app: its routers, its start-up and its error pages."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qcflow import bootstrap
from qcflow.core.errors import UserError
from qcflow.core.ids import MAX_ID
from web import auth, links, mailbox, overview, tasks
from web import cases, glossary, registry_pages
from web import outbox
from web import new_cases
from web import indicators
from web import assessment as assessment_pages
from web import orders_pages
from web import annual_report as annual_report_pages, compendium as compendium_pages  # H6, H2 (issue 13)
from web.render import page


@asynccontextmanager
async def _lifespan(_app: FastAPI):
    yield  # the runtime is built (or refused) by _BuildRuntimeOrRefuse, before this runs


class _BuildRuntimeOrRefuse:
    """`uvicorn web.app:app` builds the runtime from QCFLOW_* at start-up (tests and `serve` install
    theirs first). A refusal, e.g. no real secret, is one Chinese line and uvicorn exits non-zero;
    raised from the lifespan it would be a traceback."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            try:
                bootstrap.ensure()
            except UserError as err:
                await receive()  # lifespan.startup
                await send({"type": "lifespan.startup.failed", "message": str(err)})
                return
        await self.app(scope, receive, send)


app = FastAPI(title="qcflow", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)
app.add_middleware(_BuildRuntimeOrRefuse)
app.include_router(overview.router)
app.include_router(links.router)
app.include_router(mailbox.router)
app.include_router(auth.router)
app.include_router(tasks.router)
app.include_router(cases.router)
app.include_router(glossary.router)
app.include_router(registry_pages.router)
app.include_router(outbox.router)
app.include_router(new_cases.router)
app.include_router(indicators.router)
app.include_router(assessment_pages.router)
app.include_router(orders_pages.router)  # Y§25, Y§26 (issue 9 part B)
app.include_router(annual_report_pages.router); app.include_router(compendium_pages.router)  # noqa: E702  H6, H2


@app.exception_handler(StarletteHTTPException)
def _http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    if exc.status_code == 405:
        title, text = "不支持此操作", "这个地址不接受这种请求。请从邮件中的链接或页面上的按钮进入。"
    else:
        title, text = "页面不存在", "请检查地址，或从邮件中的链接、首页或本地邮箱进入。"
    return page(request, "problem.html", exc.status_code, title=title, explanation=text, case=None)


@app.exception_handler(RequestValidationError)
def _bad_address(request: Request, exc: RequestValidationError) -> HTMLResponse:
    """A number in the address that is not one (/cases/document/abc): a page, not FastAPI's JSON."""
    fields = "、".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
    return page(request, "problem.html", 404, title="页面不存在",
                explanation=f"地址中的 {fields} 无效：编号应为 1–{MAX_ID} 的整数。请从邮件中的链接或首页进入。",
                case=None)


@app.exception_handler(DataError)
def _out_of_range(request: Request, exc: DataError) -> HTMLResponse:
    """A number too large for the database (an id ≥ 2^31 on PostgreSQL): nothing was read or stored."""
    return page(request, "problem.html", 404, title="页面不存在",
                explanation=f"地址或表单中的编号超出范围（应为 1–{MAX_ID} 的整数），未做任何更改。", case=None)


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}
