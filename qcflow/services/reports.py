"""Open the periodic reports of a period for every active center (idempotent per center and period)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlmodel import Session, select

from models import Center
from qcflow import engine
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from states.periods import Period, parse_period, period_for, periods_open_on


def resolve_period(kind: str, period: Optional[str], today: date) -> Period:
    try:
        chosen = parse_period(period) if period else period_for(kind, today)
    except ValueError as err:
        raise UserError(str(err)) from None
    if chosen.kind != kind:
        raise UserError(f"报告期 {period} 与报告类型 {kind} 不符")
    return chosen


def open_reports(session: Session, kind: str, period: Optional[str] = None,
                 now: Optional[datetime] = None) -> dict:
    now = now or utcnow()
    chosen = resolve_period(kind, period, local_date(now))
    opened, existing = [], []
    for center in session.exec(select(Center).where(Center.status == "active").order_by(Center.id)).all():
        case = engine.open_case(
            session, "report", center, title=f"{center.name}{chosen.label}",
            data={"report_kind": chosen.kind, "period": chosen.code, "due_date": chosen.due.isoformat(),
                  "summary": "", "plan": ""},
            key=f"report:{center.code}:{chosen.code}", now=now,
        )
        (opened if case else existing).append(center.code)
    return {"period": chosen.code, "label": chosen.label, "due": chosen.due.isoformat(),
            "opened": opened, "already_open": existing,
            "summary": f"{chosen.label}：新开 {len(opened)} 个中心，已存在 {len(existing)} 个"}


def open_due_reports(session: Session, now: Optional[datetime] = None) -> dict:
    """Catch up the opening runs: every period open today (opened, not yet due) gets its reports,
    whether or not its scheduled run happened (idempotent: an open report is not opened again)."""
    now = now or utcnow()
    results = [open_reports(session, p.kind, p.code, now=now) for p in periods_open_on(local_date(now))]
    opened = [f"{r['period']}:{code}" for r in results for code in r["opened"]]
    return {"periods": [r["period"] for r in results], "opened": opened,
            "summary": "；".join(r["summary"] for r in results) or "没有需要开启的报告期"}
