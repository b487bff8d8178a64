"""Shared by the terms, vacancy, handover and dispatch tests: the demo directory with the CARD center's
term dates and the two host units' leaders (Y§16), a real SMTP server, and the web app on a real port."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import yaml

from tests.conftest import DEMO_DIRECTORY
from tests.live import live_site, mail_to_smtp

HOST1_LEADER = "vp@qch1.qingchuan.example"  # 青川市第一人民医院, CARD's host
HOST2_LEADER = "vp@qch2.qingchuan.example"  # 青川市中心医院
CARD_PEOPLE = ("director@card.qingchuan.example", "secretary@card.qingchuan.example",
               "deputy@card.qingchuan.example", "deputy2@card.qingchuan.example")


NOMINEE = "nominee@qch1.qingchuan.example"  # 主任医师 at CARD's host, 51 on TEST_NOW
OLD_NOMINEE = "senior@qch1.qingchuan.example"  # 主任医师, 61 on TEST_NOW: over Y§11's 60


def directory_file(tmp_path: Path, card_term_start: Optional[str] = None, director_term: int = 1) -> Path:
    data = yaml.safe_load(DEMO_DIRECTORY.read_text(encoding="utf-8"))
    for person in data["people"]:
        if person["email"] in CARD_PEOPLE:
            if card_term_start:
                person["term_start"] = card_term_start
            if person["email"].startswith("director@"):
                person["director_term"] = director_term
        for key, value in list(person.items()):
            if hasattr(value, "isoformat"):
                person[key] = value.isoformat()
    data["people"] += [
        {"email": HOST1_LEADER, "name": "严守正", "title": "副院长", "institution": "QCH1", "roles": ["host_leader"]},
        {"email": HOST2_LEADER, "name": "韦思远", "title": "副院长", "institution": "QCH2", "roles": ["host_leader"]},
        {"email": NOMINEE, "name": "宋知远", "title": "主任医师", "birth_date": "1975-06-01", "institution": "QCH1"},
        {"email": OLD_NOMINEE, "name": "常怀瑾", "title": "主任医师", "birth_date": "1965-01-10", "institution": "QCH1"},
    ]
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load(path: Path) -> None:
    from qcflow.services import directory
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        directory.load_file(session, path)


@pytest.fixture
def smtp(engine, monkeypatch):
    with mail_to_smtp(monkeypatch) as server:
        yield server


@pytest.fixture
def site(engine, monkeypatch):
    """(base_url, mailbox): the web app on a real port, its mail to a real SMTP server."""
    with live_site(monkeypatch) as site_and_mailbox:
        yield site_and_mailbox


def deliver(expected: Optional[int] = None) -> int:
    from qcflow.services.mail import deliver_outbox

    report = deliver_outbox()
    assert report.errors == []
    if expected is not None:
        assert report.sent == expected
    return report.sent
