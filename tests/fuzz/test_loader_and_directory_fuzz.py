"""Thousands of generated YAML texts through the safe loader and the directory parser: 0 tracebacks.
Every failure is a UserError / DirectoryError in Chinese naming where it is."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from qcflow.core.errors import UserError
from qcflow.core.safeload import load_yaml
from qcflow.services.directory import DirectoryError, parse
from tests.conftest import DEMO_DIRECTORY, TEST_NOW
from tests.fuzz.strategies import yaml_texts
from tests.fuzz.support import CHINESE, EXAMPLES

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEMO_TEXT = DEMO_DIRECTORY.read_text(encoding="utf-8")
TODAY = TEST_NOW.date()


@FUZZ
@given(yaml_texts())
def test_the_loader_returns_plain_data_or_a_chinese_error(text):
    try:
        data = load_yaml(text, "数据文件 x.yaml")
    except UserError as err:
        assert CHINESE.search(str(err)) and "x.yaml" in str(err)
        return
    _assert_plain(data)


@FUZZ
@given(yaml_texts(), yaml_texts())
def test_the_directory_parser_refuses_in_chinese_or_parses(splice, tail):
    cut = len(splice) % (len(DEMO_TEXT) + 1)
    for text in (splice, DEMO_TEXT[:cut] + splice + DEMO_TEXT[cut:], DEMO_TEXT + "\n" + tail):
        try:
            parse(text, source="名录文件", today=TODAY)
        except DirectoryError as err:
            assert err.problems and all(CHINESE.search(p) for p in err.problems), err.problems


def _assert_plain(value, depth: int = 0) -> None:
    assert depth <= 60
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, (str, int, float, bool)) or k is None
            _assert_plain(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _assert_plain(v, depth + 1)
    else:
        assert value is None or isinstance(value, (str, int, float, bool)), type(value)
