"""What waits in the outbox and why, and putting failed mail back in the queue: for `qcflow outbox` and
the /outbox page. Subjects only: a mail's body carries task links, which are credentials."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import func, update
from sqlmodel import Session, select

from models import OutboxMessage
from models.admin_audit import AdminAction
from notifications.delivery import render_row
from notifications.queue_state import is_held, read_state
from notifications.quota import allowance, domain_of
from qcflow.core.clock import fmt_local, utcnow
from qcflow.core.errors import UserError
from qcflow.core.settings import Settings
from qcflow.engine.outbox import DIGESTED, HELD
from qcflow.services.mail import enrich
from qcflow.store.raw import Raw
from states.outbox_policy import OUTBOX_STAFF_ROLES
from states.rules import Reason, Refused

OUTBOX_RULE = "Y§22"  # the commission owns the platform's data; mail subjects name cases

LIST_LIMIT = 500  # rows a list shows; the counts cover everything
STATUS_LABELS = {"pending": "待发送", "failed": "发送失败", "sent": "已发送", HELD: "待汇入每日待办汇总",
                 DIGESTED: "已汇入每日待办汇总"}
REQUEUE_ACTION = "outbox_requeue"


def is_outbox_staff(session: Session, person_id: Optional[int]) -> bool:
    """May this person see the outbox (the commission's staff, states.outbox_policy)?"""
    if person_id is None:
        return False
    raw = Raw(session)
    return bool(raw.rows(f"SELECT 1 FROM roleassignment WHERE person_id = ? AND center_id IS NULL "
                         f"AND role IN ({raw.in_list(list(OUTBOX_STAFF_ROLES))})",
                         [person_id, *OUTBOX_STAFF_ROLES]))


def _subject(row: OutboxMessage, extra: dict) -> str:
    try:
        render_row(row, extra)
    except Exception:  # a template fault: delivery records it; the list still shows the row
        return f"（模板“{row.template}”无法生成）"
    return row.subject


def queue_status(session: Session, settings: Settings, now: Optional[datetime] = None) -> dict[str, Any]:
    """The queue as a whole: counts, the mail server's back-off, the alert, the quota."""
    now = now or utcnow()
    conn = session.connection()
    state = read_state(conn) or {}
    raw = Raw(session)
    counts = dict(raw.rows("SELECT status, COUNT(*) FROM outboxmessage WHERE status IN ('pending', 'failed') "
                           "GROUP BY status"))
    room = allowance(conn, domain_of(settings.mail_from), now, settings.outbox_quota_per_hour,
                     settings.outbox_quota_per_day)
    table = OutboxMessage.__table__
    due = conn.scalar(select(func.count()).select_from(table).where(
        table.c.status == "pending", table.c.next_attempt_at <= now)) if room.left is not None else 0
    held = bool(state) and is_held(state, now)
    quota_waiting = max(due - room.left, 0) if room.left is not None else 0
    return {
        "pending": counts.get("pending", 0), "failed": counts.get("failed", 0),
        "server_unreachable": state.get("failing_since") is not None,
        "failing_since": fmt_local(state.get("failing_since")), "retry_at": fmt_local(state.get("retry_at")) if held else "",
        "failures": state.get("failures", 0), "last_error": state.get("last_error", "") if state.get("failing_since") else "",
        "alert_raised_at": fmt_local(state.get("alert_raised_at")),
        "last_outage": ({"from": fmt_local(state["last_outage_started_at"]), "to": fmt_local(state["last_outage_ended_at"]),
                         "alerted": fmt_local(state.get("last_outage_alerted_at"))}
                        if state.get("last_outage_started_at") else None),
        "quota": {"domain": domain_of(settings.mail_from),
                  "used": {name: {"used": used, "cap": cap} for name, (used, cap) in room.used.items()},
                  "left": room.left, "waiting": quota_waiting, "next_at": fmt_local(room.when_free)},
    }


def _why_waiting(row: OutboxMessage, now: datetime, status: dict) -> str:
    if row.status == "failed":
        return "已放弃，需重新排队"
    if status["retry_at"]:
        return f"邮件服务器不可用，{status['retry_at']} 后重试"
    if row.next_attempt_at > now:
        return f"{fmt_local(row.next_attempt_at)} 后重试"
    if status["quota"]["left"] == 0:
        return f"等待发送配额，最早 {status['quota']['next_at']}"
    return "等待发送"


def mail_rows(session: Session, settings: Settings, failed_only: bool = False,
              now: Optional[datetime] = None) -> list[dict[str, Any]]:
    """Mail not yet sent (or only the failed), oldest first: recipient, subject, status, attempts, last
    error, times. No bodies: they hold task links."""
    now = now or utcnow()
    statuses = ["failed"] if failed_only else ["pending", "failed"]
    rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.status.in_(statuses))
                             .order_by(OutboxMessage.id).limit(LIST_LIMIT)).all())
    for row in rows:
        session.expunge(row)  # rendering for the list writes nothing back
    extras = enrich(session, rows)
    status = queue_status(session, settings, now)
    return [{
        "id": row.id, "to": row.to_addr, "to_name": row.to_name, "subject": _subject(row, extras.get(row.id, {})),
        "status": row.status, "status_label": STATUS_LABELS.get(row.status, row.status),
        "attempts": row.attempts, "last_error": row.last_error,
        "created_at": fmt_local(row.created_at), "next_attempt_at": fmt_local(row.next_attempt_at),
        "failed_at": fmt_local(row.failed_at), "waiting_for": _why_waiting(row, now, status),
    } for row in rows]


def requeue(session: Session, ids: Iterable[int] = (), all_failed: bool = False,
            now: Optional[datetime] = None, *, by: Optional[int] = None) -> list[int]:
    """Put failed mail back in the queue, due now, with its attempts reset; a pending one is made due now.
    Only the commission's staff (`by`, states.outbox_policy) may; the request is written to the audit
    (AdminAction). All or nothing: an unknown id or a mail already sent refuses the whole request. The ids requeued."""
    now = now or utcnow()
    if not is_outbox_staff(session, by):
        raise Refused([Reason(OUTBOX_RULE, "只有卫健委工作人员（医政医管科审核人、科长）可以重新发送邮件：邮件主题涉及事项信息，"
                                           "发件队列由委员会管理；请用 --as 写明您在名录中的邮箱")])
    wanted = sorted(set(ids))
    if not wanted and not all_failed:
        raise UserError("请用 --id 指定要重新发送的邮件编号，或用 --all-failed 重新发送全部发送失败的邮件")
    table = OutboxMessage.__table__
    conn = session.connection()
    if all_failed:
        wanted = sorted(set(wanted) | set(session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "failed"))))
    found = dict(session.exec(select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(wanted))).all())
    unknown = [i for i in wanted if i not in found]
    sent = [i for i in wanted if found.get(i) == "sent"]
    digest = [i for i in wanted if found.get(i) in (HELD, DIGESTED)]
    problems = ([f"没有编号为 {', '.join(map(str, unknown))} 的邮件"] if unknown else []) + \
               ([f"编号 {', '.join(map(str, sent))} 的邮件已发送，不会重发"] if sent else []) + \
               ([f"编号 {', '.join(map(str, digest))} 的邮件属于收件人选择的每日待办汇总，由汇总发送"] if digest else [])
    if problems:
        raise UserError("；".join(problems) + "；未做任何更改")
    failed = [i for i in wanted if found[i] == "failed"]
    pending = [i for i in wanted if found[i] == "pending"]
    if failed:
        conn.execute(update(table).where(table.c.id.in_(failed), table.c.status == "failed").values(
            status="pending", attempts=0, next_attempt_at=now, failed_at=None, lease_until=None))
    if pending:
        conn.execute(update(table).where(table.c.id.in_(pending), table.c.status == "pending").values(next_attempt_at=now))
    session.add(AdminAction(action=REQUEUE_ACTION, person_id=by, at=now,
                            details={"ids": wanted, "all_failed": all_failed, "failed": failed, "pending": pending}))
    session.flush()
    return wanted
