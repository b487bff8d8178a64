"""The `qcflow` command. Messages for people are Chinese; `--json` prints machine-readable output."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from qcflow import bootstrap
from qcflow.core.errors import UserError

EXIT_REFUSED = 2
EXIT_CONFLICT = 3
EXIT_ERROR = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own text is English; keep it, add a hint
        self.print_usage(sys.stderr)
        print(f"命令参数有误：{message}\n运行 `{self.prog} --help` 查看用法。", file=sys.stderr)
        sys.exit(EXIT_REFUSED)


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def _read_data(source: str) -> dict[str, Any]:
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"无法读取数据文件 {source}：{exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"数据文件 {source} 不是 UTF-8 编码；请另存为 UTF-8 后重试") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise UserError(f"数据文件 {source} 不是有效的 YAML/JSON：{exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"数据文件 {source} 应为键值映射（例如 title: ...）")
    return data


def cmd_init(args: argparse.Namespace) -> int:
    from qcflow.store.db import upgrade_schema
    from qcflow.core.runtime import get_settings

    url = get_settings().effective_database_url
    upgrade_schema(url)
    _emit(args, {"ok": True, "database": _safe_url(url)}, f"数据库已就绪：{_safe_url(url)}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_directory_load(args: argparse.Namespace) -> int:
    from qcflow.services import directory
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        report = directory.load_file(session, Path(args.file))
    created = "、".join(f"{k} {v}" for k, v in report.created.items()) or "无"
    updated = "、".join(f"{k} {v}" for k, v in report.updated.items()) or "无"
    text = f"名录已导入。新增：{created}；更新：{updated}" if report.changed else "名录无变化（与数据库一致）"
    _emit(args, {"created": report.created, "updated": report.updated, "changed": report.changed}, text)
    return 0


def cmd_case_new(args: argparse.Namespace) -> int:
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from qcflow.services.queries import case_detail

    data = _read_data(args.data)
    with unit_of_work() as session:
        case = engine.create_case(session, args.kind, args.actor, data)
        detail = case_detail(session, case)
    _emit(args, detail, f"已新建{detail['kind_label']} #{detail['id']}：{detail['title']}（{detail['state_label']}）")
    return 0


def cmd_case_fire(args: argparse.Namespace) -> int:
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from qcflow.services.queries import case_detail

    changes = _read_data(args.data) if args.data else None
    with unit_of_work() as session:
        result = engine.fire(session, args.kind, args.id, args.trigger, email=args.actor,
                             comment=args.comment or "", changes=changes,
                             expected_version=args.expected_version)
        detail = case_detail(session, result.case)
    labels = engine.workflow_for(args.kind).transitions
    done = "、".join(labels[t].label for t, _, _ in result.steps)
    extra = f"，文号 {detail['number']}" if detail["number"] else ""
    _emit(args, {**detail, "steps": result.steps},
          f"{detail['kind_label']} #{detail['id']}：{done}完成，当前状态：{detail['state_label']}{extra}")
    return 0


def cmd_case_attach(args: argparse.Namespace) -> int:
    from qcflow.services.applications import attach_file, read_upload
    from qcflow.store.db import unit_of_work

    content = read_upload(Path(args.file))
    with unit_of_work() as session:
        row = attach_file(session, args.id, args.slot, content, Path(args.file).name, args.actor)
    from states.materials import SLOTS

    _emit(args, {"slot": row.slot, "filename": row.filename, "size": row.size, "sha256": row.sha256},
          f"已上传：{SLOTS[row.slot]} ← {row.filename}（{row.size} 字节）")
    return 0


def cmd_meetings_record(args: argparse.Namespace) -> int:
    from qcflow.services import meetings
    from qcflow.store.db import unit_of_work
    from states.meetings import kind_label

    data = _read_data(args.data)
    with unit_of_work() as session:
        row = meetings.record_meeting(session, args.center, args.actor, data)
        out = {"id": row.id, "kind": row.kind, "title": row.title, "held_on": row.held_on.isoformat()}
    _emit(args, out, f"已登记{kind_label(row.kind)} #{out['id']}：{out['title']}（{out['held_on']}）")
    return 0


def cmd_meetings_list(args: argparse.Namespace) -> int:
    from qcflow.services import meetings
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        rows = meetings.list_meetings(session, args.center, args.year)
    _emit(args, rows, "\n".join(f"{r['held_on']}  {r['kind_label']}  {r['center_name']}  {r['title']}"
                                f"（{len(r['attendees'])}人）" for r in rows) or "暂无会议记录")
    return 0


def _check_may_import(args: argparse.Namespace) -> None:
    from models import Institution
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from states.death_review import may_import
    from states.rules import Refused

    with unit_of_work() as session:
        person = engine.person_by_email(session, args.actor)
        actor = engine.actor_of(session, person)
        own = session.get(Institution, person.institution_id) if person.institution_id else None
        reasons = may_import(actor.holds("commission_reviewer"), own.code if own else None, args.hospital)
    if reasons:
        raise Refused(reasons)


def cmd_deaths_import(args: argparse.Namespace) -> int:
    from qcflow.store.db import get_engine
    from qcflow.services.deaths_import import import_file

    _check_may_import(args)

    def progress(rows: int) -> None:
        if not args.json:
            print(f"  已读取 {rows} 行……", file=sys.stderr, flush=True)

    report = import_file(get_engine(), Path(args.file), args.hospital, args.actor, args.mapping, progress)
    payload = {"read": report.read, "created": report.created, "duplicates": report.duplicates,
               "refused": report.refused, "low_risk": report.low_risk,
               "errors": [str(e) for e in report.errors], "unknown_headers": report.unknown_headers}
    _emit(args, payload, "\n".join(report.lines()))
    return 0 if not report.refused else EXIT_REFUSED


def cmd_deaths_report(args: argparse.Namespace) -> int:
    from qcflow.store.db import get_engine
    from qcflow.services.deaths_import import report_one

    _check_may_import(args)
    report = report_one(get_engine(), _read_data(args.data), args.hospital, args.actor)
    _emit(args, {"created": report.created, "duplicates": report.duplicates, "refused": report.refused,
                 "low_risk": report.low_risk, "errors": [str(e) for e in report.errors]}, "\n".join(report.lines()))
    return 0 if not report.refused else EXIT_REFUSED


def cmd_deaths_drg(args: argparse.Namespace) -> int:
    from qcflow.store.db import unit_of_work
    from qcflow.services.deaths_import import load_low_risk_groups

    with unit_of_work() as session:
        count = load_low_risk_groups(session, Path(args.file), args.year)
    _emit(args, {"year": args.year, "groups": count}, f"{args.year} 年低风险 DRG 组已导入：{count} 组")
    return 0


def cmd_deaths_show(args: argparse.Namespace) -> int:
    from qcflow.store.db import unit_of_work
    from qcflow.services.deaths import open_detail

    with unit_of_work() as session:
        detail = open_detail(session, args.id, args.actor, "cli")
    data = detail["data"]
    lines = [f"死亡病例评审 #{detail['id']}  状态：{detail['state_label']}  医院：{data.get('hospital')}  "
             f"病案号：{data.get('record_no')}",
             f"入院 {data.get('admitted_on')}  死亡 {data.get('died_on')}  科室：{data.get('department')}  "
             f"DRG：{data.get('drg')}  低风险：{'是' if data.get('low_risk') else '否'}  尸检：{'是' if data.get('autopsy') else '否'}",
             f"主要诊断：{data.get('diagnosis')}"]
    for e in detail["history"]:
        lines.append(f"  {e['at']}  {e['actor']}  {e['action']}  {e['to']}  {e['comment']}")
    _emit(args, detail, "\n".join(lines))
    return 0


def cmd_deaths_summary(args: argparse.Namespace) -> int:
    from qcflow.store.db import unit_of_work
    from qcflow.services.deaths import summary

    with unit_of_work() as session:
        result = summary(session)
    head = "报告  已筛查  低风险  已评审  7日内讨论  5个工作日内讨论  措施未落实  措施逾期"
    lines = []
    for title, rows in (("按质控中心", result["centers"]), ("按医院", result["hospitals"])):
        lines.append(f"{title}：{head}")
        for r in rows:
            lines.append(f"  {r['name']}：{r['reported']}  {r['screened']}  {r['low_risk']}  {r['reviewed']}  "
                         f"{r['discussed_on_time']}  {r['discussed_within_5_working_days']}  {r['actions_open']}  "
                         f"{r['actions_overdue']}")
    _emit(args, result, "\n".join(lines) if any(result.values()) else "暂无死亡病例")
    return 0


def cmd_center_list(args: argparse.Namespace) -> int:
    from qcflow.store.db import unit_of_work
    from qcflow.services.registry import center_rows

    with unit_of_work() as session:
        rows = center_rows(session)
    status = {"active": "在用"}
    _emit(args, rows, "\n".join(f"{r['code']:<6} {status.get(r['status'], r['status'])}  {r['category']}  "
                                f"{r['name']}（挂靠：{r['host']}）" for r in rows) or "暂无质控中心")
    return 0


def cmd_center_change(args: argparse.Namespace) -> int:
    from qcflow.core.clock import utcnow
    from qcflow.store.db import unit_of_work
    from qcflow.services.registry import change_roster

    data = _read_data(args.data)
    with unit_of_work() as session:
        result = change_roster(session, args.code, args.actor, data, utcnow())
    _emit(args, result, f"{args.code} 人员调整完成（{result['reason']}）；用 qcflow center show {args.code} 查看")
    return 0


def cmd_center_show(args: argparse.Namespace) -> int:
    from qcflow.store.db import unit_of_work
    from qcflow.services.registry import center_detail

    with unit_of_work() as session:
        detail = center_detail(session, args.code)
    lines = [f"{detail['name']}（{detail['code']}）  专业：{detail['specialty']}  类别：{detail['category']}  "
             f"挂靠：{detail['host']}"]
    for p in detail["people"]:
        group = f"  {p['group']}" if p["group"] else ""
        lines.append(f"  {p['role_label']:<4} {p['name']:<6} {p['title']:<8} 任期 {p['term_start']} 至 {p['term_end']}"
                     f"（第 {p['term']} 届）{group}")
    if not detail["people"]:
        lines.append("  （名录中未登记任期信息）")
    _emit(args, detail, "\n".join(lines))
    return 0


def cmd_case_show(args: argparse.Namespace) -> int:
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from qcflow.services.queries import case_detail

    with unit_of_work() as session:
        detail = case_detail(session, engine.load_case(session, args.kind, args.id))
    lines = [f"{detail['kind_label']} #{detail['id']}：{detail['title']}",
             f"状态：{detail['state_label']}（{detail['state']}）  中心：{detail['center']}  拟稿人：{detail['created_by']}"]
    if detail["number"]:
        lines.append(f"文号：{detail['number']}")
    lines.append("办理记录：")
    for e in detail["history"]:
        arrow = f"{e['from']} → {e['to']}" if e["from"] else e["to"]
        comment = f"  意见：{e['comment']}" if e["comment"] else ""
        lines.append(f"  {e['at']}  {e['actor']}  {e['action']}  {arrow}{comment}")
    for d in detail["deadlines"]:
        lines.append(f"期限：{d['label']} 截止 {d['due']}{'（办理中）' if d['open'] else '（已结束）'}")
    _emit(args, detail, "\n".join(lines))
    return 0


def cmd_case_list(args: argparse.Namespace) -> int:
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from qcflow.services.queries import case_rows

    workflow = engine.workflow_for(args.kind)
    by_label = {label: state for state, label in workflow.states.items()}
    args.state = by_label.get(args.state, args.state)
    if args.state and args.state not in workflow.states:
        raise UserError(f"状态“{args.state}”无效，可用：{'、'.join(f'{k}（{v}）' for k, v in workflow.states.items())}")
    with unit_of_work() as session:
        rows = case_rows(session, args.kind, args.state)
    text = "\n".join(f"#{r['id']:<5} {r['state_label']:<6} {r['number']:<16} {r['title']}" for r in rows)
    _emit(args, rows, text or "没有符合条件的事项")
    return 0


def cmd_outbox_deliver(args: argparse.Namespace) -> int:
    from qcflow.services.mail import deliver_outbox as deliver

    report = deliver()
    _emit(args, {"sent": report.sent, "retried": report.retried, "gave_up": report.gave_up,
                 "errors": report.errors}, report.summary())
    return 0 if not report.gave_up else EXIT_ERROR


def _as_of(value: Optional[str]) -> Optional[datetime]:
    from qcflow.core.clock import as_of_moment

    try:
        return as_of_moment(value)
    except ValueError:
        raise UserError(f"日期“{value}”无效，格式应为 YYYY-MM-DD") from None


def cmd_deadlines_sweep(args: argparse.Namespace) -> int:
    from qcflow.engine import deadlines
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        report = deadlines.sweep(session, now=_as_of(args.as_of))
    _emit(args, {"examined": report.examined, "reminded": report.reminded, "escalated": report.escalated,
                 "skipped": report.skipped, "overdue": report.overdue},
          f"期限检查完成：检查 {report.examined} 项，提醒 {len(report.reminded)} 项，督办 {len(report.escalated)} 项，"
          f"标记逾期 {len(report.overdue)} 项")
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    from qcflow.core.clock import local_date, utcnow
    from qcflow.store.db import unit_of_work
    from qcflow.services.queries import due_rows

    moment = _as_of(args.as_of) or utcnow()
    with unit_of_work() as session:
        rows = due_rows(session, local_date(moment), args.center)
    if args.late:
        rows = [r for r in rows if r["late"]]
    lines = [f"{r['due']}  {r['status']:<8} {r['center'][:14]:<14} {r['kind_label']}#{r['case_id']} "
             f"{r['step']}（{r['state_label']}）{'  已督办' if r['escalated'] else ''}  {r['title']}" for r in rows]
    late = sum(r["late"] for r in rows)
    _emit(args, rows, "\n".join(lines + [f"共 {len(rows)} 项，其中逾期 {late} 项"]) if rows else "没有待办期限")
    return 0


def cmd_calendar_load(args: argparse.Namespace) -> int:
    from qcflow.store import calendar
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        result = calendar.load_file(session, Path(args.file))
    _emit(args, result, f"{result['year']} 年日历已导入：放假 {result['holidays']} 天，调休上班 {result['workdays']} 天")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from qcflow.run.serve import serve

    return serve(demo=args.demo, with_prefect=not args.no_prefect)


def cmd_demo(args: argparse.Namespace) -> int:
    from qcflow.run.demo import walk_story

    return walk_story(print_json=args.json)


def cmd_flows_run(args: argparse.Namespace) -> int:
    from qcflow.run.flow_runner import run_flow

    params: dict[str, str] = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"参数“{item}”格式应为 名称=值")
        params[key] = value
    result = run_flow(args.name, params)
    _emit(args, result, f"流程 {args.name} 已运行：{result.get('summary', result)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="qcflow", description="医疗质控中心管理平台")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（供脚本使用）")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(parent, name: str, fn: Callable[[argparse.Namespace], int], help_: str):
        sp = parent.add_parser(name, help=help_, description=help_)
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="以 JSON 输出")
        sp.set_defaults(fn=fn)
        return sp

    add(sub, "init", cmd_init, "创建或升级数据库结构")
    d = sub.add_parser("directory", help="名录").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    add(d, "load", cmd_directory_load, "从 YAML 文件导入或更新名录").add_argument("file")

    c = sub.add_parser("case", help="事项").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    sp = add(c, "new", cmd_case_new, "新建事项")
    sp.add_argument("kind")
    sp.add_argument("--as", dest="actor", required=True, help="操作人邮箱")
    sp.add_argument("--data", required=True, help="YAML/JSON 数据文件，- 表示标准输入")
    sp = add(c, "fire", cmd_case_fire, "对事项执行一个操作")
    sp.add_argument("kind")
    sp.add_argument("id", type=int)
    sp.add_argument("trigger")
    sp.add_argument("--as", dest="actor", required=True, help="操作人邮箱")
    sp.add_argument("--comment", help="意见")
    sp.add_argument("--data", help="修改内容（YAML/JSON 文件，- 表示标准输入）")
    sp.add_argument("--expected-version", type=int, help="仅当事项仍为此版本时执行")
    sp = add(c, "attach", cmd_case_attach, "为设置申请上传一项材料（PDF、图片或 docx）")
    sp.add_argument("kind", choices=["application"])
    sp.add_argument("id", type=int)
    sp.add_argument("slot", help="材料项，如 license、letter_1 … letter_6、commitment")
    sp.add_argument("file")
    sp.add_argument("--as", dest="actor", required=True, help="操作人邮箱")
    me = sub.add_parser("meetings", help="会议和培训").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    sp = add(me, "record", cmd_meetings_record, "登记一次成员工作会议、培训或调度会议")
    sp.add_argument("--center", required=True, help="质控中心代码")
    sp.add_argument("--as", dest="actor", required=True, help="操作人邮箱")
    sp.add_argument("--data", required=True, help="YAML/JSON：kind、held_on、title、attendees、minutes、files")
    sp = add(me, "list", cmd_meetings_list, "列出会议和培训记录")
    sp.add_argument("--center")
    sp.add_argument("--year", type=int)
    de = sub.add_parser("deaths", help="死亡病例评审").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    sp = add(de, "import", cmd_deaths_import, "从医院导出的 CSV/XLSX 批量导入死亡病例（姓名、身份证号不落库）")
    sp.add_argument("file")
    sp.add_argument("--hospital", required=True, help="医院代码（名录 institutions 中的 code）")
    sp.add_argument("--as", dest="actor", required=True, help="导入人邮箱")
    sp.add_argument("--mapping", help="表头对照文件（YAML：表头: 字段）")
    sp = add(de, "report", cmd_deaths_report, "报告一例死亡病例（与批量导入相同的检查和脱敏）")
    sp.add_argument("--hospital", required=True, help="医院代码")
    sp.add_argument("--as", dest="actor", required=True, help="报告人邮箱")
    sp.add_argument("--data", required=True, help="YAML：病案号、入院日期、死亡日期、科室、主要诊断、DRG分组、是否尸检……")
    drg = de.add_parser("drg", help="低风险 DRG 组").add_subparsers(dest="what", required=True, parser_class=_Parser)
    sp = add(drg, "load", cmd_deaths_drg, "导入某年的低风险 DRG 组名单（CSV 或 YAML）")
    sp.add_argument("file")
    sp.add_argument("--year", type=int, required=True)
    sp = add(de, "show", cmd_deaths_show, "查看病例详情（仅评审人、所在中心和卫健委；每次查看都记录在案）")
    sp.add_argument("id", type=int)
    sp.add_argument("--as", dest="actor", required=True, help="查看人邮箱")
    add(de, "summary", cmd_deaths_summary, "按质控中心和医院统计报告、筛查、低风险、评审和措施落实情况")
    ce = sub.add_parser("center", help="质控中心名册").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    add(ce, "list", cmd_center_list, "列出质控中心")
    add(ce, "show", cmd_center_show, "查看质控中心的人员、职务和任期").add_argument("code")
    sp = add(ce, "change", cmd_center_change, "调整质控中心人员（按 Y§10–§12 检查）")
    sp.add_argument("code")
    sp.add_argument("--as", dest="actor", required=True, help="操作人邮箱（卫健委）")
    sp.add_argument("--data", required=True, help="YAML：add、remove、change_role、size_justification、reason")
    sp = add(c, "show", cmd_case_show, "查看事项及办理记录")
    sp.add_argument("kind")
    sp.add_argument("id", type=int)
    sp = add(c, "list", cmd_case_list, "列出事项")
    sp.add_argument("kind")
    sp.add_argument("--state")

    o = sub.add_parser("outbox", help="发件箱").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    add(o, "deliver", cmd_outbox_deliver, "发送待发邮件")
    dl = sub.add_parser("deadlines", help="期限").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    add(dl, "sweep", cmd_deadlines_sweep, "检查到期事项，发送提醒和督办").add_argument(
        "--as-of", help="按指定日期检查（YYYY-MM-DD，默认今天）")
    sp = add(sub, "due", cmd_due, "列出待办和逾期的期限")
    sp.add_argument("--center", help="质控中心代码")
    sp.add_argument("--late", action="store_true", help="只列逾期的")
    sp.add_argument("--as-of", help="按指定日期计算（YYYY-MM-DD）")
    cal = sub.add_parser("calendar", help="工作日日历").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    add(cal, "load", cmd_calendar_load, "导入某年的放假和调休安排（YAML）").add_argument("file")
    f = sub.add_parser("flows", help="Prefect 流程").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    sp = add(f, "run", cmd_flows_run, "手动运行一个流程")
    sp.add_argument("name")
    sp.add_argument("--param", action="append", help="名称=值，可重复")
    sp = add(sub, "serve", cmd_serve, "启动网页、本地邮箱、Prefect 服务和定时流程")
    sp.add_argument("--demo", action="store_true", help="导入演示名录并准备一份待审核公文")
    sp.add_argument("--no-prefect", action="store_true", help="不启动 Prefect（仅网页和邮箱）")
    add(sub, "demo", cmd_demo, "导入演示名录并走完一份公文的全部流程")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from qcflow.services.directory import DirectoryError
    from states.rules import Conflict, Refused

    args = build_parser().parse_args(argv)
    try:
        bootstrap.ensure()
        return args.fn(args)
    except Refused as refused:
        _fail(args, "refused", [str(r) for r in refused.reasons], "操作被拒绝：")
        return EXIT_REFUSED
    except Conflict as conflict:
        _fail(args, "conflict", [str(conflict)], "操作未执行：")
        return EXIT_CONFLICT
    except DirectoryError as err:
        _fail(args, "invalid_directory", err.problems, "名录文件有误，未导入任何内容：")
        return EXIT_REFUSED
    except UserError as err:
        _fail(args, "bad_input", [str(err)], "")
        return EXIT_REFUSED
    except (OperationalError, ProgrammingError) as err:
        hint = "数据库尚未初始化或无法连接，请先运行 `qcflow init` 并检查 QCFLOW_DATABASE_URL"
        _fail(args, "database", [hint, str(err.orig).splitlines()[0] if err.orig else str(err)], "")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `qcflow case list document | head`
        sys.stderr.close()
        return 0


def _fail(args: argparse.Namespace, code: str, messages: list[str], lead: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": code, "messages": messages}, ensure_ascii=False, indent=2))
    else:
        print(lead + ("\n  " if lead else "") + "\n  ".join(messages), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
