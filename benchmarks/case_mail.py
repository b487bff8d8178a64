"""mail: delivering 1,000 queued messages to a local SMTP server, against a naive loop.

The outbox is filled by real steps (documents created and submitted: each submit mails the
commission's reviewers), untimed. Ours: `qcflow.services.mail.deliver_outbox()` repeated until a
run sends nothing (batches of the `outbox_batch_size` setting, one SMTP connection per batch, each
outcome recorded in the database). Baseline, same run: a naive loop sending the very same messages
(envelope, headers, text and HTML as the server received them from ours): for each, build it with
the email package, open an `smtplib` connection, send, quit; no templates, no database work. The
server is aiosmtpd on 127.0.0.1 in its own process. 3 rounds (ours, then naive), each on fresh
messages; medians. Targets (issue): ≥ 500 msg/s, ≥ 3× naive. --quick: 100 per round.
"""
from __future__ import annotations

import smtplib
import tempfile
import time
from pathlib import Path

from benchmarks.support import (
    SECRETARY, Check, Options, Result, SmtpSink, create_document, deliver_all, fire, median, prepare_database, rate,
    sqlite_url,
)

NAME = "mail"
ROUNDS = 3


def pending(engine) -> int:
    from sqlalchemy import func
    from sqlmodel import Session, select

    from models import OutboxMessage

    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")).one()


def fill_outbox(engine, at_least: int, first: int) -> tuple[int, int]:
    """Submit documents until at least `at_least` mails are pending; (pending, documents used)."""
    n = 0
    while (queued := pending(engine)) < at_least:
        case_id = create_document(engine, f"邮件基准测试公文 {first + n}")
        fire(engine, case_id, "submit", SECRETARY)
        n += 1
    return queued, n


def contents(raw: list[tuple[str, list[str], bytes]]) -> list[dict]:
    """What a sender needs to write each received message again: envelope, headers, text and HTML."""
    from email import message_from_bytes, policy

    out = []
    for mail_from, rcpts, content in raw:
        m = message_from_bytes(content, policy=policy.default)
        out.append({"mail_from": mail_from, "rcpts": rcpts, "from": str(m["From"]), "to": str(m["To"]),
                    "subject": str(m["Subject"]), "message_id": str(m["Message-ID"]),
                    "text": m.get_body(preferencelist=("plain",)).get_content(),
                    "html": m.get_body(preferencelist=("html",)).get_content()})
    return out


def naive(port: int, messages: list[dict]) -> float:
    """The naive sender: build each message (text and HTML alternatives, utf-8), open a connection, send, quit."""
    from email.message import EmailMessage
    from email.policy import SMTP as SMTP_POLICY
    from email.utils import formatdate

    t0 = time.perf_counter()
    for m in messages:
        msg = EmailMessage(policy=SMTP_POLICY)
        msg["From"], msg["To"], msg["Subject"] = m["from"], m["to"], m["subject"]
        msg["Date"], msg["Message-ID"] = formatdate(localtime=True), m["message_id"]
        msg.set_content(m["text"], charset="utf-8")
        msg.add_alternative(m["html"], subtype="html", charset="utf-8")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(msg, from_addr=m["mail_from"], to_addrs=m["rcpts"])
    return time.perf_counter() - t0


def resend(port: int, raw: list[tuple[str, list[str], bytes]]) -> float:
    """Only the connections: the received bytes sent again, a connection per message (for the details)."""
    t0 = time.perf_counter()
    for mail_from, rcpts, content in raw:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.sendmail(mail_from, rcpts, content)
    return time.perf_counter() - t0


def run(opts: Options) -> Result:
    from qcflow.core.runtime import get_settings

    per_round = 100 if opts.quick else 1000
    result = Result(NAME)
    ours, bare, docs = [], [], 0
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-mail-") as tmp, SmtpSink() as sink:
        engine = prepare_database(sqlite_url(Path(tmp)), Path(tmp) / "data", smtp_host="127.0.0.1",
                                  smtp_port=sink.port)
        batch = get_settings().outbox_batch_size
        fill_outbox(engine, 5, 0)  # warm-up: templates, the first connection
        deliver_all()
        for r in range(ROUNDS):
            sink.clear()
            queued, used = fill_outbox(engine, per_round, 10_000 * (r + 1))
            docs += used
            t0 = time.perf_counter()
            sent = deliver_all()
            spent = time.perf_counter() - t0
            if sent != queued or sink.wait_for(queued, 10) != queued or pending(engine):
                raise AssertionError(f"round {r + 1}: {queued} queued, {sent} sent, {sink.count} received, "
                                     f"{pending(engine)} still pending")
            raw = sink.raw()
            messages = contents(raw)
            sink.clear()
            naive_spent = naive(sink.port, messages)
            if sink.wait_for(len(messages), 10) != len(messages):
                raise AssertionError(f"round {r + 1}: naive loop delivered {sink.count} of {len(messages)}")
            resend_spent = resend(sink.port, raw)
            ours.append(queued / spent)
            bare.append(len(messages) / naive_spent)
            result.details.append(f"round {r + 1}: {queued} messages ({used} documents submitted); ours {spent:.2f} s "
                                  f"= {rate(ours[-1])} msg/s; naive {naive_spent:.2f} s = {rate(bare[-1])} msg/s; "
                                  f"resending the received bytes, a connection each (no building): "
                                  f"{rate(len(raw) / resend_spent)} msg/s")
        engine.dispose()
    o, b = median(ours), median(bare)
    over = median([x / y for x, y in zip(ours, bare)])
    result.figure = f"{rate(o)} msg/s"
    result.checks += [
        Check(f"naive smtplib loop, a connection per message {rate(b)} msg/s, ours/naive {over:.1f}×", "≥ 3×",
              over >= 3),
        Check(f"{queued:,} messages in the last round", "≥ 500 msg/s", o >= 500),
    ]
    result.note = (f"medians of {ROUNDS} rounds, aiosmtpd on 127.0.0.1 in its own process, "
                   f"outbox_batch_size {batch}")
    return result
