"""The web app: its routers, its start-up and its error pages."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qcflow import bootstrap
from web import links, mailbox, overview
from web.render import page


@asynccontextmanager
async def _lifespan(_app: FastAPI):
    bootstrap.ensure()  # `uvicorn web.app:app` builds the runtime from QCFLOW_*; tests and serve install theirs first
    yield


app = FastAPI(title="qcflow", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)
app.include_router(overview.router)
app.include_router(links.router)
app.include_router(mailbox.router)


@app.exception_handler(StarletteHTTPException)
def _http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    if exc.status_code == 405:
        title, text = "不支持此操作", "这个地址不接受这种请求。请从邮件中的链接或页面上的按钮进入。"
    else:
        title, text = "页面不存在", "请检查地址，或从邮件中的链接、首页或本地邮箱进入。"
    return page(request, "problem.html", exc.status_code, title=title, explanation=text, case=None)


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}
