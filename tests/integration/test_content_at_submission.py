"""The rules judge the case as the step leaves it: content given with `submit` is what the staffing
rules and Y§8 see, not the stored draft (issue 8, item 3)."""
from __future__ import annotations

import pytest
import yaml
from sqlmodel import select

from models import Case
from qcflow import engine
from qcflow.services.applications import attach_file
from qcflow.store.db import unit_of_work
from states.materials import SLOTS
from states.rules import Refused
from tests.helpers import ROOT

pytestmark = pytest.mark.db

APPLICANT = "yan.keqin@qch2.qingchuan.example"


def _application() -> dict:
    return yaml.safe_load((ROOT / "demo" / "applications" / "respiratory.yaml").read_text(encoding="utf-8"))


def _draft(data: dict) -> int:
    with unit_of_work() as s:
        case_id = engine.create_case(s, "application", APPLICANT, data).id
    for slot in SLOTS:
        with unit_of_work() as s:
            attach_file(s, case_id, slot, b"%PDF-1.7\n" + slot.encode() + b"\n%%EOF\n", f"{slot}.pdf", APPLICANT)
    return case_id


def _submit(case_id: int, changes: dict) -> str:
    with unit_of_work() as s:
        engine.fire(s, "application", case_id, "submit", email=APPLICANT, changes=changes)
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def test_a_roster_without_a_secretary_given_at_submission_is_refused_with_its_article(demo):
    good = _application()
    case_id = _draft(good)
    broken = [e for e in good["roster"] if e["role"] != "secretary"]
    with pytest.raises(Refused) as refused:
        _submit(case_id, {"roster": broken})
    assert "秘书应为 1 名，现有 0 名（Y§10）" in str(refused.value)
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        assert case.state == "draft" and len(case.data["roster"]) == len(good["roster"])  # nothing written


def test_a_specialty_that_has_a_center_given_at_submission_is_refused_by_y8(demo):
    case_id = _draft(_application())
    with pytest.raises(Refused) as refused:
        _submit(case_id, {"specialty": "心血管内科"})  # the demo directory's CARD center has it
    assert "Y§8" in str(refused.value) and "心血管内科" in str(refused.value)


def test_a_bad_draft_fixed_at_submission_is_accepted(demo):
    good = _application()
    broken = {**good, "roster": [e for e in good["roster"] if e["role"] != "secretary"]}
    case_id = _draft(broken)
    assert _submit(case_id, {"roster": good["roster"]}) != "draft"
