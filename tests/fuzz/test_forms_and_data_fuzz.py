"""Generated form-like dicts through the engine (what a page posts), and generated `--data` files through the
CLI in-process: 0 tracebacks; every refusal is a Refused/UserError in Chinese and leaves every table as it was."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcflow import engine
from qcflow.core.errors import UserError
from qcflow.store.db import unit_of_work
from states.rules import Conflict, Refused
from tests.fuzz.strategies import form_dicts, yaml_texts
from tests.fuzz.support import CHINESE, DIRECTOR, EXAMPLES, REVIEWER, SECRETARY, dump, make_scene, run_cli

pytestmark = pytest.mark.db
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
STEPS = [("document", "edit", SECRETARY), ("document", "submit", SECRETARY), ("document", "new", SECRETARY),
         ("death_review", "record_discussion", DIRECTOR), ("death_review", "record_autopsy_report", DIRECTOR),
         ("death_review", "record_rediscussion", DIRECTOR), ("death_review", "add_evidence", DIRECTOR),
         ("death_review", "new", REVIEWER)]


@pytest.fixture
def scene(demo):
    return make_scene()


def _submit(scene, kind: str, trigger: str, email: str, changes: dict) -> None:
    with unit_of_work() as s:
        if trigger == "new":
            engine.create_case(s, kind, email, {"center": "CARD", **changes})
        else:
            case_id = scene.document if kind == "document" else scene.death
            engine.fire(s, kind, case_id, trigger, email=email, changes=changes)


@FUZZ
@given(step=st.sampled_from(STEPS), changes=form_dicts())
def test_form_like_dicts_through_the_engine(scene, demo, step, changes):
    kind, trigger, email = step
    before = dump(demo)
    try:
        _submit(scene, kind, trigger, email, changes)
    except (Refused, UserError, Conflict) as err:
        assert CHINESE.search(str(err)), err
        assert dump(demo) == before


@FUZZ
@given(text=yaml_texts(), step=st.sampled_from([s for s in STEPS if s[1] != "new"]))
def test_data_files_through_the_cli(scene, demo, tmp_path, capsys, text, step):
    kind, trigger, email = step
    path = tmp_path / "data.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    case_id = scene.document if kind == "document" else scene.death
    before = dump(demo)
    ran = run_cli(capsys, "case", "fire", kind, str(case_id), trigger, "--as", email, "--data", str(path))
    assert ran.code in (0, 2), ran
    if ran.code == 2:
        assert CHINESE.search(ran.err), ran
        assert dump(demo) == before
