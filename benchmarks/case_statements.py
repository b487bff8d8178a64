"""statements: SQL statements per step.

On a fresh SQLite file with the demo directory, after one warm-up of each (so one-time look-ups such
as the working-day calendar are not counted):
  * fire: `engine.fire(session, "document", id, "approve", email=reviewer)` in its own unit of work,
    on a submitted document;
  * web POST: the whole POST /t/{token} of 审核通过 from the emailed link, through the FastAPI app
    (`web.app:app`) in-process with starlette's TestClient. The link is taken from the 【待审核】
    mail that qcflow's own delivery sent to an SMTP sink on 127.0.0.1; the page is opened (GET) first,
    as a person does, and the POST carries the version the page showed. The page's background
    delivery is off (deliver_after_action=False): that is the outbox's work, not the step's.
Counted: what SQLite executes (its trace callback on every connection, so statements that qcflow
runs on the DBAPI connection directly are seen too; SQLAlchemy's `before_cursor_execute` alone
misses those, and its count is shown beside). An executemany counts once; BEGIN and COMMIT are not
counted. Targets (issue): fire ≤ 10, web POST ≤ 15. --verbose lists the statements by kind.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.support import (
    REVIEWERS, SECRETARY, Check, Options, Result, SmtpSink, StatementLog, create_document, deliver_all, fire,
    link_for, prepare_database, sqlite_url,
)

NAME = "statements"
REVIEWER = REVIEWERS[0]
VERSION = re.compile(r'name="version"\s+value="(\d+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def count_fire(engine, log: StatementLog, title: str) -> tuple[list[str], list[str]]:
    from qcflow import engine as qc
    from qcflow.store.db import unit_of_work

    case_id = create_document(engine, title)
    fire(engine, case_id, "submit", SECRETARY)
    with log.recording():
        with unit_of_work(engine) as s:
            qc.fire(s, "document", case_id, "approve", email=REVIEWER)
    if state_of(engine, case_id) != "awaiting_signoff":
        raise RuntimeError(f"fire(approve) left the case {state_of(engine, case_id)}")
    return log.snapshot()


def state_of(engine, case_id: int) -> str:
    from sqlmodel import Session

    from models import Case

    with Session(engine) as s:
        return s.get(Case, case_id).state


def count_post(engine, log: StatementLog, client, sink: SmtpSink, title: str) -> tuple[tuple, tuple]:
    """(statements of the GET, statements of the POST) of the approve link in the mail about `title`."""
    case_id = create_document(engine, title)
    fire(engine, case_id, "submit", SECRETARY)
    deliver_all()
    path = urlsplit(link_for(sink.messages(), REVIEWER, title)).path
    with log.recording():
        page = client.get(path)
    got = log.snapshot()
    if page.status_code != 200:
        raise RuntimeError(f"GET {path[:12]}… answered {page.status_code}")
    form = {"decision": "approve", "comment": ""}
    if m := VERSION.search(page.text):
        form["version"] = m.group(1)
    if m := CSRF.search(page.text):  # the page's CSRF token; its cookie is kept by the client
        form["csrf"] = m.group(1)
    with log.recording():
        done = client.post(path, data=form, follow_redirects=False)  # the POST alone, not the page after it
    posted = log.snapshot()
    if done.status_code not in (200, 303) or state_of(engine, case_id) != "awaiting_signoff":
        raise RuntimeError(f"POST approve answered {done.status_code}, case is {state_of(engine, case_id)}")
    return got, posted


def run(opts: Options) -> Result:
    from starlette.testclient import TestClient

    result = Result(NAME)
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-statements-") as tmp, SmtpSink() as sink:
        engine = prepare_database(sqlite_url(Path(tmp)), Path(tmp) / "data", smtp_host="127.0.0.1",
                                  smtp_port=sink.port, deliver_after_action=False,
                                  public_base_url="http://testserver")
        log = StatementLog(engine)
        count_fire(engine, log, "预热公文 甲")
        fired = count_fire(engine, log, "计数公文 甲")
        from web.app import app

        with TestClient(app) as client:
            count_post(engine, log, client, sink, "预热公文 乙")
            got, posted = count_post(engine, log, client, sink, "计数公文 乙")
        engine.dispose()

    n_fire, n_post, n_get = (len(log.counted(x)) for x in (fired, posted, got))
    result.figure = f"fire {n_fire}, POST {n_post}"
    result.checks += [
        Check(f"engine.fire(approve) {n_fire} statements", "≤ 10", n_fire <= 10),
        Check(f"web POST approve {n_post} statements = fire {n_fire} + {n_post - n_fire} for the link and page "
              f"(GET of the page {n_get})", "≤ 15", n_post <= 15),
    ]
    witness = "SQLite's trace" if log.traced else "SQLAlchemy's before_cursor_execute"
    result.note = (f"SQLite, steady state, counted by {witness}; through SQLAlchemy: fire "
                   f"{log.sqlalchemy_count(fired)}, POST {log.sqlalchemy_count(posted)}; BEGIN/COMMIT not counted")
    for label, seen in (("fire(approve)", fired), ("web POST", posted), ("web GET", got)):
        control = log.transaction_control(seen)
        result.details.append(f"{label}: {len(log.counted(seen))} — " + ", ".join(log.grouped(log.counted(seen)))
                              + (f" (not counted: {', '.join(control)})" if control else ""))
    if opts.verbose:
        for label, seen in (("fire(approve)", fired), ("web POST", posted)):
            result.details.append(f"{label} in order:")
            result.details += [f"  {i + 1:>2}. {' '.join(s.split())[:160]}" for i, s in enumerate(log.counted(seen))]
    return result
