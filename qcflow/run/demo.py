"""Demo data and the demo story: a meeting notice from draft to issued, printed step by step."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Optional

from sqlmodel import select

from models import Case, Center, OutboxMessage, Person
from notifications.sink import MaildirSink
from qcflow import engine
from qcflow.core.runtime import get_settings
from qcflow.core.safeload import load_yaml
from qcflow.services import directory
from qcflow.run import demo_indicators
from qcflow.services.applications import attach_file
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.services.queries import case_detail
from qcflow.core.clock import today, utcnow
from qcflow.services.registry import center_detail, set_directory_term_start
from qcflow.store.db import unit_of_work, upgrade_schema
from qcflow.store.ledger import claim
from qcflow.store.raw import Raw
from states.materials import SLOTS
from states.rules import Refused
from states.staffing import add_years, term_end
from states.staffing_policy import TERM_YEARS

DEMO = Path(__file__).resolve().parents[2] / "demo"
SECRETARY = "secretary@card.qingchuan.example"
REVIEWER = "reviewer@wjw.qingchuan.example"
LEADER = "leader@wjw.qingchuan.example"


def _demo_file(path: Path) -> dict:
    return load_yaml(path.read_bytes(), str(path.name))


def prepare() -> None:
    """Schema, demo directory. Safe to run again."""
    upgrade_schema(get_settings().effective_database_url)
    with unit_of_work() as session:
        directory.load_file(session, DEMO / "directory.yaml")
    seed_term_ending()
    demo_indicators.load()  # H3: the fictional indicator data set and its guidance tasks, once


# The directory file is static and the demo runs on the system clock: so that the commission's home page
# shows a term ending within Y§26's 3-month notice, the first start moves one director's term (the file
# gives no term_start for them, so a reload leaves it so). Later starts do nothing: the term just runs on.
TERM_KEY = "demo:term-ending"
TERM_PERSON, TERM_CENTER = "director@nurs.qingchuan.example", "NURS"
TERM_ENDS_IN_DAYS = 45


def seed_term_ending() -> Optional[date]:
    """Once per database: the NURS director's term ends 45 days after the first demo start. Returns its
    last day, or None when seeded before (or the post is not the directory's to move)."""
    with unit_of_work() as session:
        if not claim(session, TERM_KEY, "demo", utcnow()):
            return None
        center = session.exec(select(Center).where(Center.code == TERM_CENTER)).one()
        person = session.exec(select(Person).where(Person.email == TERM_PERSON)).one()
        start = add_years(today() + timedelta(days=TERM_ENDS_IN_DAYS), -TERM_YEARS.value)
        if not set_directory_term_start(session, center.id, person.id, "director", start):
            return None
        return term_end(start)


def notice() -> dict:
    return _demo_file(DEMO / "meeting_notice.yaml")


# The demo's own steps are recorded in the dispatch ledger under these keys, so a restart of
# `serve --demo` or a second `qcflow demo` adds no cases and takes no document numbers.
STORY_KEY = "demo:story"
WAITING_KEY = "demo:waiting-document"


def _done(session, key: str) -> Optional[int]:
    """The case a demo step made, if that step ran on this database before (0: it made none)."""
    row = Raw(session).first('SELECT case_id FROM dispatch WHERE "key" = ?', [key])
    return None if row is None else (row[0] or 0)


def seed_waiting_document() -> Optional[int]:
    """A submitted notice waiting for the reviewer, once per database (a restart seeds nothing)."""
    with unit_of_work() as session:
        if _done(session, WAITING_KEY) is not None:
            return None
        waiting = session.exec(select(Case).where(Case.kind == "document",
                                                  Case.state.in_(["submitted", "in_review"]))).first()
        if waiting is not None:
            claim(session, WAITING_KEY, "demo", utcnow(), case_id=waiting.id)
            return None
        case = engine.create_case(session, "document", SECRETARY, notice())
        engine.fire(session, "document", case.id, "submit", email=SECRETARY)
        claim(session, WAITING_KEY, "demo", utcnow(), case_id=case.id)
        return case.id


def walk_applications() -> list[dict]:
    """The two demo applications (Y§7–§13): one refused on submission with every rule it breaks,
    one walked through materials, expert review and approval to an active center."""
    out: list[dict] = []
    bad = _demo_file(DEMO / "applications" / "cardiology_county.yaml")
    with unit_of_work() as session:
        case = engine.create_case(session, "application", "qiu.bailu@lxh.qingchuan.example", bad)
        bad_id = case.id
    try:
        with unit_of_work() as session:
            engine.fire(session, "application", bad_id, "submit", email="qiu.bailu@lxh.qingchuan.example")
        out.append({"application": bad_id, "refused": []})
    except Refused as refused:
        out.append({"application": bad_id, "title": case.title, "refused": [str(r) for r in refused.reasons]})

    good = _demo_file(DEMO / "applications" / "respiratory.yaml")
    with unit_of_work() as session:
        if session.exec(select(Center).where(Center.code == good["center_code"])).first() is not None:
            return out  # established by an earlier demo run
    applicant, reviewer = "yan.keqin@qch2.qingchuan.example", REVIEWER
    with unit_of_work() as session:
        case_id = engine.create_case(session, "application", applicant, good).id
    with unit_of_work() as session:
        for slot in SLOTS:
            attach_file(session, case_id, slot, b"%PDF-1.4 demo material\n", f"{slot}.pdf", applicant)
    experts = ["expert2@qcexperts.example", "expert3@qcexperts.example", "expert4@qcexperts.example"]
    steps = [("submit", applicant, {}, ""), ("accept_materials", reviewer, {"experts": experts}, "")]
    steps += [("review", e, {"score": "85", "recommendation": "approve"}, "学科实力强，同意设置") for e in experts]
    steps += [("approve", reviewer, {}, "")]
    for trigger, who, changes, comment in steps:
        with unit_of_work() as session:
            engine.fire(session, "application", case_id, trigger, email=who, changes=changes, comment=comment)
    with unit_of_work() as session:
        detail = center_detail(session, good["center_code"])
    out.append({"application": case_id, "title": f"{good['center_name']}设置申请", "established": detail})
    return out


def _story_again(case_id: int, print_json: bool) -> int:
    """The story ran on this database already: show it again instead of issuing another number."""
    with unit_of_work() as session:
        detail = case_detail(session, engine.load_case(session, "document", case_id)) if case_id else None
    if print_json:
        print(json.dumps({"already_done": True, "case": detail}, ensure_ascii=False, indent=2, default=str))
        return 0
    print("演示流程已在这个数据库中走过一次，不再新建事项、不再占用文号。以下是当时的公文：")
    if detail:
        print(f"公文 #{case_id}（{detail['state_label']}{'，文号 ' + detail['number'] if detail['number'] else ''}）办理记录：")
        for e in detail["history"]:
            arrow = f"{e['from']} → {e['to']}" if e["from"] else e["to"]
            print(f"  {e['at']}  {e['actor']:<4} {e['action']:<6} {arrow}  {e['comment']}")
    return 0


def walk_story(print_json: bool = False) -> int:
    prepare()
    with unit_of_work() as session:
        earlier = _done(session, STORY_KEY)
    if earlier is not None:
        return _story_again(earlier, print_json)
    log: list[dict] = []

    def step(title: str, trigger: Optional[str], email: str, case_id: Optional[int] = None, **kw) -> int:
        with unit_of_work() as session:
            before = len(session.exec(select(OutboxMessage)).all())
            if trigger is None:
                case = engine.create_case(session, "document", email, notice())
            else:
                case = engine.fire(session, "document", case_id, trigger, email=email, **kw).case
            mails = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()[before:]
            detail = case_detail(session, case)
        entry = {"step": title, "state": detail["state_label"], "number": detail["number"],
                 "emails": [f"{m.to_addr}：{m.subject}" for m in mails]}
        log.append(entry)
        if not print_json:
            print(f"▶ {title} → 状态：{detail['state_label']}{'，文号 ' + detail['number'] if detail['number'] else ''}")
            for line in entry["emails"]:
                print(f"    ✉ {line}")
        return case.id

    case_id = step("秘书林小禾拟写会议通知", None, SECRETARY)
    step("秘书提交审核", "submit", SECRETARY, case_id)
    step("审核人周文清退回修改（意见：请补充会议议程）", "request_changes", REVIEWER, case_id,
         comment="请在正文中补充会议议程")
    step("秘书修改正文后重新提交", "submit", SECRETARY, case_id,
         changes={"body": notice()["body"] + "会议议程：一、年度质控工作总结；二、2027年工作计划。\n"})
    step("审核人审核通过", "approve", REVIEWER, case_id)
    step("签发领导孙正和签发（系统随即编号印发）", "sign", LEADER, case_id)
    applications = walk_applications()
    with unit_of_work() as session:
        claim(session, STORY_KEY, "demo", utcnow(), case_id=case_id)

    settings = get_settings()
    if settings.smtp_host:
        report = deliver()
    else:
        with MaildirSink(settings.maildir, port=settings.sink_port) as sink:
            report = deliver(settings=settings.model_copy(update={"smtp_host": "127.0.0.1",
                                                                  "smtp_port": sink.port}))
    with unit_of_work() as session:
        detail = case_detail(session, engine.load_case(session, "document", case_id))
    if print_json:
        print(json.dumps({"case": detail, "steps": log, "applications": applications, "delivery": report.summary()},
                         ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"\n邮件投递：{report.summary()}" + ("" if settings.smtp_host else f"（本地邮箱：{settings.maildir}）"))
    print(f"\n公文 #{case_id} 办理记录：")
    for e in detail["history"]:
        arrow = f"{e['from']} → {e['to']}" if e["from"] else e["to"]
        print(f"  {e['at']}  {e['actor']:<4} {e['action']:<6} {arrow}  {e['comment']}")
    for item in applications:
        if "refused" in item:
            print(f"\n▶ 设置申请 #{item['application']} {item.get('title', '')}：提交被拒绝，原因如下：")
            for reason in item["refused"]:
                print(f"    ✗ {reason}")
        else:
            center = item["established"]
            print(f"\n▶ 设置申请 #{item['application']} {item['title']}：材料齐全 → 三位专家评审（申请单位的专家回避）"
                  f" → 卫健委批准 → {center['name']}（{center['code']}）已设置")
            for p in center["people"]:
                print(f"    {p['role_label']:<4} {p['name']:<6} {p['title']:<8} 任期 {p['term_start']} 至 {p['term_end']}")
    print("\n" + demo_indicators.summary())  # H3: the indicator data set and its guidance tasks
    return 0
