"""Generated hostile input: YAML text (well-formed and not), form-like dicts, spreadsheet cells."""
from __future__ import annotations

import yaml
from hypothesis import strategies as st

FIELD_NAMES = ["title", "body", "doc_kind", "recipients", "center", "reviewers", "discussion", "date", "held_on",
               "actions", "action", "evidence", "score", "recommendation", "experts", "autopsy_report_on",
               "summary", "plan", "kind", "attendees", "add", "remove", "reason", "commission", "people",
               "centers", "institutions", "year", "holidays", "__line__", "病案号", "死亡日期"]
YAML_BITS = ["2026-02-30", "2026-12-10", "9999-12-31", ".nan", ".inf", "-.inf", "~", "null", "yes", "no", "on",
             "0x7fffffff", "2147483648", "9" * 40, "14:30", "1e400", "&a", "*a", "<<: *a", "!!set", "!!binary",
             "!!python/none", "!!str", "? ", "- ", ": ", "{", "}", "[", "]", "'", '"', "|", ">", "#", "\t",
             "\n", "\n  ", "---", "...", "%YAML 1.1", "\x00", "\ufeff", "字", "𠀀"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["2026-02-30", "2026-12-10", "9999-12-31", "0", "-1", "1.5", "", " "]),
)


def json_like(max_leaves: int = 12) -> st.SearchStrategy:
    keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=0, max_size=8))
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(keys, inner, max_size=5)),
                        max_leaves=max_leaves)


def form_dicts() -> st.SearchStrategy:
    """What a page or a `--data` file could hand the engine as a step's changes."""
    return st.dictionaries(st.sampled_from(FIELD_NAMES), json_like(), min_size=1, max_size=5)


def _dumped(value) -> str:
    try:
        return yaml.safe_dump(value, allow_unicode=True)
    except Exception:  # noqa: BLE001 (nan keys and the like: fall back to a repr, hostile in its own way)
        return repr(value)


def yaml_texts() -> st.SearchStrategy:
    """Text a person might save as a YAML file: dumped data, spliced fragments, or both."""
    dumped = form_dicts().map(_dumped)
    spliced = st.lists(st.one_of(st.sampled_from(YAML_BITS), st.sampled_from(FIELD_NAMES).map(lambda k: f"{k}: "),
                                 st.text(max_size=6)), max_size=25).map("".join)
    mixed = st.tuples(dumped, spliced, st.integers(min_value=0, max_value=200)).map(
        lambda t: t[0][:t[2]] + t[1] + t[0][t[2]:])
    return st.one_of(dumped, spliced, mixed)


CELLS = st.one_of(st.text(max_size=12), st.sampled_from(
    ["2026-02-30", "2026/11/05", "2026年11月5日", "9999-12-31", "0000-00-00", "45000", "-1", "是", "否", "FR29",
     "I", "IV", "'", '"', "=1+1", "\x00", "\r", "\n", "字" * 300]))
