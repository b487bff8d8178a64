"""新建: every case and record a signed-in person may start from the web.

/new lists what the person may start (qcflow.services.starts asks the rules); each /new/{slug} is a
form generated from the rules' fields (web/new_forms.py). A POST goes to the same service as the CLI
(`engine.create_case`, `attach_file`, the death import, `record_meeting`, `change_roster`); a refusal
re-shows the form with each reason beside its field and nothing stored; success redirects (303) to
what was made, so a refresh does not post again. Files are read as they stream in (web/uploads.py):
application materials into memory with the Y§9 size cap, a hospital's death file into an in-memory
file that never touches disk (it holds names, Y§22).
"""
from __future__ import annotations

from typing import Any, Optional, Union

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from qcflow import engine
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from qcflow.services.applications import attach_file
from qcflow.services.death_upload import DEATH_FILE_MAX_BYTES, MemoryFile, import_deaths, report_death
from qcflow.services.deaths_import import PartialImport
from qcflow.services.mail import deliver_outbox
from qcflow.services.meetings import list_meetings, record_meeting
from qcflow.services.registry import change_roster
from qcflow.services.starts import Start, institutions, startable
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from states import materials
from states.rules import Reason, Refused
from web.auth import read_checked_form, require_csrf, signed_in
from web.new_forms import FormField, case_fields, content_of, death_fields, meeting_fields, placed, roster_fields
from web.render import page
from web.uploads import read_multipart

router = APIRouter()

TITLES = {
    "document": "新建公文",
    "application": "新建质控中心设置申请",
    "death": "报告一例死亡病例",
    "death_file": "批量导入死亡病例",
    "meeting": "登记会议、培训",
    "roster": "质控中心人员调整",
}
INTROS = {
    "document": "保存后为拟稿状态，可在事项页面继续修改，确认无误后“提交审核”。中心不得以自身名义发文，公文由卫健委审核、签发并印发（Y§18）。",
    "application": "保存后为拟稿状态；材料可现在上传，也可稍后在事项页面补传，齐全后“提交申请”。提交时按 Y§8、Y§10–§12 检查申请单位和成员名单。",
    "death": "与批量导入相同的检查和筛查：患者姓名、身份证号、出生日期只用于生成不可逆的患者标识，不保存（Y§22）。",
    "death_file": "上传医院系统导出的 CSV（UTF-8 或 GBK）或 Excel（.xlsx）文件，首行为表头（病案号、死亡日期必填）。"
                  "文件只在内存中逐行读取，不保存在服务器上；同一病例重复导入只算一例。",
    "meeting": "会议召开后登记（Y§19：每半年至少一次成员工作会议，每年至少一次培训）。",
    "roster": "调整后的整个名单须符合 Y§10–§12；新任主任、副主任按任命当日核对 Y§11 条件。",
}


class CappedBuffer:
    """A material file in memory, kept up to one byte past the Y§9 limit (enough to refuse it)."""

    def __init__(self, limit: int):
        self.limit, self.size, self.chunks = limit, 0, []

    def write(self, chunk: bytes) -> None:
        room = self.limit + 1 - sum(len(c) for c in self.chunks)
        if room > 0:
            self.chunks.append(chunk[:room])
        self.size += len(chunk)

    def content(self) -> bytes:
        return b"".join(self.chunks)


# --- who is asking, and may they ------------------------------------------------------------------

def _login_first(request: Request) -> HTMLResponse:
    return page(request, "case_problem.html", 401, title="请先登录", case=None, login_next=request.url.path,
                explanation="新建事项须先登录，以便按您的身份检查权限并记录办理人。未做任何更改。")


def _may_start(request: Request, slug: str) -> Union[tuple[Any, Start], Response]:
    """(the person, what they may start) or the answer to give: sign in first, or why not."""
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/login", status_code=303) if request.method == "GET" else _login_first(request)
    with unit_of_work(read_only=True) as session:
        starts = startable(session, person.id)
    if slug in starts.allowed:
        return person, starts.allowed[slug]
    label, reasons = starts.refused.get(slug, (TITLES.get(slug, slug), [Reason("", "没有这类事项")]))
    return page(request, "case_problem.html", 403 if slug in starts.refused else 404, case=None,
                title=f"不能{TITLES.get(slug, '新建')}", explanation="；".join(str(r) for r in reasons))


def _after(answer: Response) -> Response:
    if get_settings().deliver_after_action:
        answer.background = BackgroundTask(deliver_outbox)
    return answer


def _form(request: Request, slug: str, start: Start, fields: list[FormField], status: int = 200, *,
          values: Optional[dict[str, str]] = None, reasons: tuple = (), notice: str = "", **extra: Any) -> HTMLResponse:
    by_field, general = placed(list(reasons), fields)
    return page(request, "new_form.html", status, slug=slug, start=start, title=TITLES[slug], intro=INTROS[slug],
                fields=fields, values=values or {}, errors=by_field, general=general, notice=notice,
                action=extra.pop("action", f"/new/{slug}"), **extra)


def _where(start: Start, form: dict[str, str], key: str) -> str:
    """The center or hospital chosen; the only one when there is one."""
    options = start.centers if key == "center" else start.hospitals
    chosen = form.get(key, "").strip()
    if not chosen and len(options) == 1:
        return options[0][0]
    return chosen


# --- the list ---------------------------------------------------------------------------------------

@router.get("/new", response_class=HTMLResponse)
def new_index(request: Request) -> Response:
    """What the signed-in person may start, and for the rest, which rule says no."""
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/login", status_code=303)
    with unit_of_work(read_only=True) as session:
        starts = startable(session, person.id)
    return page(request, "new_index.html", starts=starts)


# --- a document -------------------------------------------------------------------------------------

@router.get("/new/document", response_class=HTMLResponse)
def new_document_form(request: Request) -> Response:
    found = _may_start(request, "document")
    if isinstance(found, Response):
        return found
    return _form(request, "document", found[1], case_fields("document"))


@router.post("/new/document", response_class=HTMLResponse)
async def new_document(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_create, request, "document", form)


def _create(request: Request, kind: str, form: dict[str, str]) -> Response:
    found = _may_start(request, kind)
    if isinstance(found, Response):
        return found
    person, start = found
    fields = case_fields(kind)
    content = {**content_of(fields, form), "center": _where(start, form, "center")}
    try:
        with unit_of_work() as session:
            case = engine.create_case(session, kind, person.email, content)
    except Refused as refusal:
        return _form(request, kind, start, fields, 422, values=form, reasons=refusal.reasons)
    return _after(RedirectResponse(f"/cases/{kind}/{case.id}", status_code=303))


# --- an application and its materials ---------------------------------------------------------------

def _application_fields() -> list[FormField]:
    with unit_of_work(read_only=True) as session:
        hosts = tuple(institutions(session))
    return case_fields("application", {"host": hosts})


@router.get("/new/application", response_class=HTMLResponse)
def new_application_form(request: Request) -> Response:
    found = _may_start(request, "application")
    if isinstance(found, Response):
        return found
    return _form(request, "application", found[1], _application_fields(), slots=materials.SLOTS, multipart=True)


def _material_sinks(buffers: dict[str, CappedBuffer]):
    def sink_for(field: str, filename: str) -> Optional[CappedBuffer]:
        slot = field.removeprefix("material.")
        if not field.startswith("material.") or slot not in materials.SLOTS:
            return None
        buffers[slot] = CappedBuffer(materials.MAX_BYTES.value)
        return buffers[slot]
    return sink_for


def _upload_reasons(parts: dict, buffers: dict[str, CappedBuffer]) -> list[Reason]:
    """Y§9's type and size checks for each file chosen, before anything is stored (attach_file checks
    again); each reason names the material so it shows beside its file."""
    out = []
    for slot, buffer in buffers.items():
        part = parts[f"material.{slot}"]
        content = buffer.content()
        for r in materials.check_upload(slot, part.filename, buffer.size, materials.sniff(content[:16])):
            out.append(Reason(r.rule, f"{materials.SLOTS[slot]}（material.{slot}）：{r.message}"))
    return out


@router.post("/new/application", response_class=HTMLResponse)
async def new_application(request: Request) -> Response:
    if await run_in_threadpool(signed_in, request) is None:  # before reading megabytes of files
        return _login_first(request)
    buffers: dict[str, CappedBuffer] = {}
    streamed = await read_multipart(request, _material_sinks(buffers))
    if streamed.problem:
        return page(request, "problem.html", 400, title="表单未能读取，未做任何更改", explanation=streamed.problem, case=None)
    if (refused := require_csrf(request, streamed.fields)) is not None:
        return refused
    return await run_in_threadpool(_create_application, request, streamed, buffers)


def _create_application(request: Request, streamed, buffers: dict[str, CappedBuffer]) -> Response:
    found = _may_start(request, "application")
    if isinstance(found, Response):
        return found
    person, start = found
    fields = _application_fields()
    content = content_of(fields, streamed.fields)
    extra = {"slots": materials.SLOTS, "multipart": True}
    reasons = _upload_reasons(streamed.files, buffers)
    try:
        with unit_of_work() as session:
            case = engine.create_case(session, "application", person.email, content)
            if reasons:
                raise Refused(reasons)
            for slot, buffer in buffers.items():
                attach_file(session, case.id, slot, buffer.content(), streamed.files[f"material.{slot}"].filename,
                            person.email)
    except Refused as refusal:
        shown = refusal.reasons + [r for r in reasons if r not in refusal.reasons]
        return _form(request, "application", start, fields, 422, values=streamed.fields, reasons=shown,
                     notice="已选择的文件未保存，请重新选择后提交。" if buffers else "", **extra)
    return _after(RedirectResponse(f"/cases/application/{case.id}", status_code=303))


@router.get("/new/application/{case_id}/materials", response_class=HTMLResponse)
def materials_form(request: Request, case_id: int) -> Response:
    """Upload (or replace) an application's Y§9 materials: for its applicant, while it is a draft or
    materials were requested (the engine's `attach` step decides)."""
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/login", status_code=303)
    return _materials_page(request, case_id, person)


def _materials_page(request: Request, case_id: int, person: Any, status: int = 200, reasons: tuple = ()) -> HTMLResponse:
    try:
        with unit_of_work(read_only=True) as session:
            case = engine.load_case(session, "application", case_id)
            user = engine.person_by_email(session, person.email)
            may = [c.trigger for c in engine.choices(session, case, user)]
    except Refused as refusal:
        return page(request, "case_problem.html", 404, title="找不到此申请", case=None,
                    explanation="；".join(str(r) for r in refusal.reasons))
    if "attach" not in may:
        status = 403
        reasons = reasons or (Reason("Y§9", "只有申请人本人可以在拟稿或补充材料阶段上传材料，当前不能上传"),)
    uploaded = case.data.get("materials") or {}
    return page(request, "new_materials.html", status, case=case, slots=materials.SLOTS, uploaded=uploaded,
                reasons=list(reasons), may_upload="attach" in may, allowed=materials.ALLOWED,
                max_mb=materials.MAX_BYTES.value // 1048576)


@router.post("/new/application/{case_id}/materials", response_class=HTMLResponse)
async def upload_materials(request: Request, case_id: int) -> Response:
    if await run_in_threadpool(signed_in, request) is None:  # before reading megabytes of files
        return _login_first(request)
    buffers: dict[str, CappedBuffer] = {}
    streamed = await read_multipart(request, _material_sinks(buffers))
    if streamed.problem:
        return page(request, "problem.html", 400, title="表单未能读取，未做任何更改", explanation=streamed.problem, case=None)
    if (refused := require_csrf(request, streamed.fields)) is not None:
        return refused
    person = signed_in(request)
    return await run_in_threadpool(_attach_all, request, case_id, person, streamed, buffers)


def _attach_all(request: Request, case_id: int, person: Any, streamed, buffers: dict[str, CappedBuffer]) -> Response:
    if not buffers:
        return _materials_page(request, case_id, person, 422, (Reason("Y§9", "请至少选择一个文件"),))
    reasons = _upload_reasons(streamed.files, buffers)
    try:
        if reasons:
            raise Refused(reasons)
        with unit_of_work() as session:
            for slot, buffer in buffers.items():
                attach_file(session, case_id, slot, buffer.content(), streamed.files[f"material.{slot}"].filename,
                            person.email)
    except Refused as refusal:
        return _materials_page(request, case_id, person, 422, tuple(refusal.reasons))
    return _after(RedirectResponse(f"/cases/application/{case_id}?done=attach", status_code=303))


# --- one death, and a hospital's file -----------------------------------------------------------------

@router.get("/new/death", response_class=HTMLResponse)
def new_death_form(request: Request) -> Response:
    found = _may_start(request, "death")
    if isinstance(found, Response):
        return found
    return _form(request, "death", found[1], death_fields())


@router.post("/new/death", response_class=HTMLResponse)
async def new_death(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_report_death, request, form)


def _report_death(request: Request, form: dict[str, str]) -> Response:
    found = _may_start(request, "death")
    if isinstance(found, Response):
        return found
    person, start = found
    fields = death_fields()
    values = content_of(fields, form)
    # The identity fields are not echoed back into the page: they are hashed, never shown (Y§22).
    kept = {k: v for k, v in form.items() if k not in ("patient_name", "id_number", "birth_date")}
    try:
        report, case_id = report_death(values, _where(start, form, "hospital"), person.email)
    except (Refused, UserError) as refusal:
        reasons = refusal.reasons if isinstance(refusal, Refused) else [Reason("", str(refusal))]
        return _form(request, "death", start, fields, 422, values=kept, reasons=reasons)
    if report.refused:
        reasons = [Reason("H5", f"{e.message}（{e.field}）") for e in report.errors]
        return _form(request, "death", start, fields, 422, values=kept, reasons=reasons,
                     notice="出于隐私保护，患者姓名、身份证号、出生日期不回填，请重新填写。")
    if report.duplicates and case_id is not None:
        return _form(request, "death", start, fields, 409, values={}, notice="",
                     duplicate=case_id)
    return _after(RedirectResponse(f"/cases/death_review/{case_id}", status_code=303))


@router.get("/new/death_file", response_class=HTMLResponse)
def new_death_file_form(request: Request) -> Response:
    found = _may_start(request, "death_file")
    if isinstance(found, Response):
        return found
    return _form(request, "death_file", found[1], [], multipart=True, death_file=True,
                 max_mb=DEATH_FILE_MAX_BYTES.value // 1048576)


@router.post("/new/death_file", response_class=HTMLResponse)
async def new_death_file(request: Request) -> Response:
    if await run_in_threadpool(signed_in, request) is None:  # before reading the file
        return _login_first(request)
    uploads: list[MemoryFile] = []

    def sink_for(field: str, filename: str) -> Optional[MemoryFile]:
        if field != "file" or uploads:
            return None
        uploads.append(MemoryFile(filename))
        return uploads[0]

    try:
        streamed = await read_multipart(request, sink_for)
        if streamed.problem:
            return page(request, "problem.html", 400, title="文件未能接收，未导入任何行", explanation=streamed.problem,
                        case=None)
        if (refused := require_csrf(request, streamed.fields)) is not None:
            return refused
        return await run_in_threadpool(_import, request, streamed.fields, uploads[0] if uploads else None)
    except UserError as err:  # no in-memory file on this server
        return page(request, "problem.html", 503, title="不能在网页上传文件", explanation=str(err), case=None)
    finally:
        for upload in uploads:
            upload.close()


def _import(request: Request, fields: dict[str, str], upload: Optional[MemoryFile]) -> Response:
    found = _may_start(request, "death_file")
    if isinstance(found, Response):
        return found
    person, start = found
    extra = {"multipart": True, "death_file": True, "max_mb": DEATH_FILE_MAX_BYTES.value // 1048576}
    if upload is None:
        return _form(request, "death_file", start, [], 422, values=fields, reasons=[Reason("H5", "请选择要导入的文件")], **extra)
    hospital = _where(start, fields, "hospital")
    try:
        report = import_deaths(upload, hospital, person.email)
    except PartialImport as stopped:
        return page(request, "new_import_result.html", 500, start=start, filename=upload.filename,
                    lines=stopped.report.lines(), partial=str(stopped), report=stopped.report)
    except (Refused, UserError) as refusal:
        reasons = refusal.reasons if isinstance(refusal, Refused) else [Reason("", str(refusal))]
        return _form(request, "death_file", start, [], 422, values=fields, reasons=reasons, **extra)
    # Shown in the answer to the POST: the summary is not kept anywhere, and sending the same file
    # again imports nothing twice (every row is then a duplicate).
    answer = page(request, "new_import_result.html", start=start, filename=upload.filename, lines=report.lines(),
                  partial="", report=report)
    answer.headers["Cache-Control"] = "no-store"
    return _after(answer)


# --- a meeting record ----------------------------------------------------------------------------------

@router.get("/new/meeting", response_class=HTMLResponse)
def new_meeting_form(request: Request) -> Response:
    found = _may_start(request, "meeting")
    if isinstance(found, Response):
        return found
    return _form(request, "meeting", found[1], meeting_fields())


@router.post("/new/meeting", response_class=HTMLResponse)
async def new_meeting(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_record_meeting, request, form)


def _record_meeting(request: Request, form: dict[str, str]) -> Response:
    found = _may_start(request, "meeting")
    if isinstance(found, Response):
        return found
    person, start = found
    fields = meeting_fields()
    try:
        with unit_of_work() as session:
            meeting = record_meeting(session, _where(start, form, "center"), person.email, content_of(fields, form))
            meeting_id = meeting.id
    except Refused as refusal:
        return _form(request, "meeting", start, fields, 422, values=form, reasons=refusal.reasons)
    return RedirectResponse(f"/new/meeting/{meeting_id}", status_code=303)


@router.get("/new/meeting/{meeting_id}", response_class=HTMLResponse)
def meeting_recorded(request: Request, meeting_id: int) -> Response:
    if signed_in(request) is None:
        return RedirectResponse("/login", status_code=303)
    with unit_of_work(read_only=True) as session:
        found = [m for m in list_meetings(session) if m["id"] == meeting_id]
    if not found:
        return page(request, "case_problem.html", 404, title="找不到此会议记录", case=None,
                    explanation=f"没有编号为 {meeting_id} 的会议记录。")
    return page(request, "new_meeting_done.html", meeting=found[0])


# --- a roster change -----------------------------------------------------------------------------------

@router.get("/new/roster", response_class=HTMLResponse)
def new_roster_form(request: Request) -> Response:
    found = _may_start(request, "roster")
    if isinstance(found, Response):
        return found
    return _form(request, "roster", found[1], roster_fields())


@router.post("/new/roster", response_class=HTMLResponse)
async def new_roster(request: Request) -> Response:
    form = await read_checked_form(request)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_change_roster, request, form)


def _change_roster(request: Request, form: dict[str, str]) -> Response:
    found = _may_start(request, "roster")
    if isinstance(found, Response):
        return found
    person, start = found
    fields = roster_fields()
    code = _where(start, form, "center")
    if code not in {c for c, _ in start.centers}:
        return _form(request, "roster", start, fields, 422, values=form,
                     reasons=[Reason("", "请选择要调整人员的质控中心（center）")])
    try:
        with unit_of_work() as session:
            change_roster(session, code, person.email, content_of(fields, form), utcnow())
    except (Refused, UserError) as refusal:
        reasons = refusal.reasons if isinstance(refusal, Refused) else [Reason("", str(refusal))]
        return _form(request, "roster", start, fields, 422, values=form, reasons=reasons)
    return RedirectResponse(f"/centers/{code}", status_code=303)
