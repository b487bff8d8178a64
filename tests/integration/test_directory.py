"""Loading the directory YAML: counts, idempotence, updates, and refusals that write nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from models import Center, Commission, Institution, Person, RoleAssignment
from qcflow.services import directory
from qcflow.store.db import unit_of_work
from qcflow.services.directory import DirectoryError
from tests.conftest import DEMO_DIRECTORY

pytestmark = pytest.mark.db

MODELS = (Commission, Institution, Center, Person, RoleAssignment)

# A small directory whose line numbers the tests below refer to.
BASE = """\
commission:
  name: 测试市卫生健康委员会
  organ_code: 测卫质控
institutions:
  - code: H1
    name: 测试市第一人民医院
    level: 三级甲等
    county: 测试市本级
  - {code: H2, name: 测试市第二人民医院, level: 三级甲等, county: 测试市本级}
centers:
  - code: CARD
    name: 测试市心血管病医疗质量控制中心
    specialty: 心血管内科
    category: 临床
    host: H1
people:
  - email: reviewer@wjw.test.example
    name: 周审核
    roles: [commission_reviewer]
  - email: director@card.test.example
    name: 陆主任
    birth_date: 1972-04-18
    institution: H1
    roles: [center_director@CARD]
    department_head: true
    provincial_society_member: true
    title: 主任医师
  - email: deputy1@card.test.example
    name: 甲副主任
    title: 主任医师
    birth_date: 1970-03-01
    institution: H2
    roles: [center_deputy@CARD]
    department_head: true
    provincial_society_member: true
  - email: deputy2@card.test.example
    name: 乙副主任
    title: 主任医师
    birth_date: 1971-03-01
    institution: H2
    roles: [center_deputy@CARD]
    department_head: true
    provincial_society_member: true
  - email: secretary@card.test.example
    name: 丙秘书
    title: 副主任医师
    birth_date: 1985-03-01
    institution: H1
    roles: [center_secretary@CARD]
"""
REVIEWER_LINE, DIRECTOR_LINE, CENTER_LINE = 17, 20, 11


def _load(path: Path) -> directory.LoadReport:
    with unit_of_work() as session:
        return directory.load_file(session, path)


def _write(tmp_path: Path, text: str, name: str = "directory.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _counts() -> dict[str, int]:
    with unit_of_work() as s:
        return {m.__name__: len(s.exec(select(m)).all()) for m in MODELS}


def _snapshot() -> dict[str, list[dict]]:
    """Every row of every directory table, so 'nothing changed' means exactly that."""
    with unit_of_work() as s:
        return {m.__name__: sorted((row.model_dump() for row in s.exec(select(m)).all()), key=lambda r: r["id"])
                for m in MODELS}


def _roles_of(email: str) -> set[tuple[str, str | None]]:
    with unit_of_work() as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        centers = {c.id: c.code for c in s.exec(select(Center)).all()}
        return {(r.role, centers.get(r.center_id)) for r in
                s.exec(select(RoleAssignment).where(RoleAssignment.person_id == person.id)).all()}


def _demo_sizes() -> tuple[int, int]:
    import yaml

    people = yaml.safe_load(DEMO_DIRECTORY.read_text(encoding="utf-8"))["people"]
    return len(people), sum(len(p.get("roles") or []) for p in people)


def test_loading_the_demo_directory_creates_every_entry(engine):
    report = _load(DEMO_DIRECTORY)
    people, roles = _demo_sizes()
    assert people >= 10 and roles >= 11
    assert _counts() == {"Commission": 1, "Institution": 3, "Center": 2, "Person": people, "RoleAssignment": roles}
    assert report.created == {"commission": 1, "institutions": 3, "centers": 2, "people": people, "roles": roles}
    assert report.updated == {}
    assert report.changed is True
    with unit_of_work() as s:
        commission = s.exec(select(Commission)).one()
        card = s.exec(select(Center).where(Center.code == "CARD")).one()
        host = s.get(Institution, card.host_institution_id)
        secretary = s.exec(select(Person).where(Person.email == "secretary@card.qingchuan.example")).one()
    assert (commission.name, commission.organ_code) == ("青川市卫生健康委员会", "青卫质控")
    assert (card.category, card.status, host.code) == ("临床", "active", "QCH1")
    assert (secretary.name, secretary.title, str(secretary.birth_date)) == ("林小禾", "副主任医师", "1986-09-02")
    assert _roles_of("head@wjw.qingchuan.example") == {("section_head", None), ("commission_reviewer", None)}
    assert _roles_of("secretary@nurs.qingchuan.example") == {("center_secretary", "NURS")}


def test_loading_the_same_file_twice_changes_nothing(engine):
    _load(DEMO_DIRECTORY)
    before = _snapshot()
    report = _load(DEMO_DIRECTORY)
    assert report.changed is False
    assert not any(report.created.values()) and not any(report.updated.values())
    assert _snapshot() == before


def test_changing_one_title_updates_exactly_that_person(engine, tmp_path):
    _load(DEMO_DIRECTORY)
    before = _snapshot()
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    entry = "name: 林小禾\n    title: 副主任医师"
    assert text.count(entry) == 1
    report = _load(_write(tmp_path, text.replace(entry, "name: 林小禾\n    title: 主任医师")))
    assert report.changed is True
    assert report.updated == {"people": 1}
    assert not any(report.created.values())
    after = _snapshot()
    changed = [(b, a) for b, a in zip(before["Person"], after["Person"]) if b != a]
    assert len(changed) == 1
    old, new = changed[0]
    assert new["email"] == "secretary@card.qingchuan.example"
    assert (old["title"], new["title"]) == ("副主任医师", "主任医师")
    assert {**old, "title": "主任医师"} == new
    assert {k: v for k, v in after.items() if k != "Person"} == {k: v for k, v in before.items() if k != "Person"}


def test_an_email_in_another_case_is_the_same_person(engine, tmp_path):
    _load(DEMO_DIRECTORY)
    before = _counts()
    text = DEMO_DIRECTORY.read_text(encoding="utf-8").replace(
        "email: director@card.qingchuan.example", "email: Director@Card.Qingchuan.example")
    report = _load(_write(tmp_path, text))
    assert report.changed is False
    assert _counts() == before


def test_removing_a_role_from_a_person_removes_it_on_reload(engine, tmp_path):
    _load(DEMO_DIRECTORY)
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    assert text.count("roles: [section_head, commission_reviewer]") == 1
    report = _load(_write(tmp_path, text.replace("roles: [section_head, commission_reviewer]",
                                                 "roles: [commission_reviewer]")))
    assert _roles_of("head@wjw.qingchuan.example") == {("commission_reviewer", None)}
    assert report.updated == {"roles": 1} and not any(report.created.values())
    assert _counts()["RoleAssignment"] == _demo_sizes()[1] - 1
    assert _roles_of("reviewer@wjw.qingchuan.example") == {("commission_reviewer", None)}


def test_moving_a_role_to_another_center_replaces_it(engine, tmp_path):
    _load(DEMO_DIRECTORY)
    # 方建国 moves from CARD to NURS (keeping a seat in CARD), 黎晚晴 the other way: both rosters stay within Y§10
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    fang = "name: 方建国\n    title: 主任医师\n    birth_date: 1970-01-30\n    institution: QCH2\n    roles: [center_deputy@CARD]"
    li = "name: 黎晚晴\n    title: 主任护师\n    birth_date: 1973-02-27\n    institution: QCH1\n    roles: [center_deputy@NURS]"
    assert text.count(fang) == 1 and text.count(li) == 1
    text = (text.replace(fang, fang.replace("[center_deputy@CARD]", "[center_deputy@NURS, center_member@CARD]"))
                .replace(li, li.replace("[center_deputy@NURS]", "[center_deputy@CARD]")))
    report = _load(_write(tmp_path, text))
    assert _roles_of("deputy@card.qingchuan.example") == {("center_deputy", "NURS"), ("center_member", "CARD")}
    assert _roles_of("deputy@nurs.qingchuan.example") == {("center_deputy", "CARD")}
    assert report.created == {"roles": 3} and report.updated == {"roles": 2}


def test_the_small_base_file_is_valid(engine, tmp_path):
    report = _load(_write(tmp_path, BASE))
    assert report.created == {"commission": 1, "institutions": 2, "centers": 1, "people": 5, "roles": 5}


def _replace_line(text: str, line_no: int, new: str) -> str:
    lines = text.splitlines()
    lines[line_no - 1] = new
    return "\n".join(lines) + "\n"


# (id, line to change, its new content, words one problem must contain[, how many problems in all])
INVALID = [
    ("bad email", 20, "  - email: director-at-card.test.example",
     [f"第 {DIRECTOR_LINE} 行", "director-at-card.test.example", "不是有效的邮箱地址"]),
    ("unknown institution of a person", 23, "    institution: H9",
     [f"第 {DIRECTOR_LINE} 行", "director@card.test.example", "所在单位“H9”不在 institutions 中"]),
    ("unknown host of a center", 15, "    host: H9",
     [f"第 {CENTER_LINE} 行", "CARD", "挂靠单位“H9”不在 institutions 中"]),
    ("bad role name", 19, "    roles: [commission_reviewr]",
     [f"第 {REVIEWER_LINE} 行", "reviewer@wjw.test.example", "角色“commission_reviewr”无效"]),
    ("center role without @CENTER", 24, "    roles: [center_director]",
     [f"第 {DIRECTOR_LINE} 行", "director@card.test.example", "center_director@中心代码"]),
    ("center role of an unknown center", 24, "    roles: [center_director@NURS]",
     [f"第 {DIRECTOR_LINE} 行", "director@card.test.example", "当前：“NURS”"]),
    ("commission role with a center", 19, "    roles: [commission_reviewer@CARD]",
     [f"第 {REVIEWER_LINE} 行", "reviewer@wjw.test.example", "属于卫健委，不应带中心代码"]),
    ("duplicate email", 20, "  - email: Reviewer@wjw.test.example",
     [f"第 {DIRECTOR_LINE} 行", "reviewer@wjw.test.example", "重复"]),
    ("bad date", 22, "    birth_date: 18.04.1972",
     [f"第 {DIRECTOR_LINE} 行", "director@card.test.example", "birth_date", "不是有效日期"]),
    # only the center is at fault: people assigned to it are not flagged as well
    ("bad center category", 14, "    category: 科研",
     [f"第 {CENTER_LINE} 行", "CARD", "category", "类别应为"]),
    ("misspelt key", 22, "    birth_dat: 1972-04-18",
     [f"第 {DIRECTOR_LINE} 行", "director@card.test.example", "birth_dat", "未知字段"]),
    ("missing name", 18, "    title: 科员",
     [f"第 {REVIEWER_LINE} 行", "reviewer@wjw.test.example", "name：缺少此项"]),
    ("YAML syntax error", 19, "    roles: [commission_reviewer",
     [f"第 {DIRECTOR_LINE} 行", "YAML"]),
]


@pytest.mark.parametrize("line_no,new_line,expected,how_many", [(*c[1:4], c[4] if len(c) > 4 else 1) for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_an_invalid_file_names_line_and_entry_and_writes_nothing(engine, tmp_path, line_no, new_line, expected,
                                                                  how_many):
    _load(_write(tmp_path, BASE, "base.yaml"))
    before = _snapshot()
    # the bad file also carries valid changes: none of them may land either
    text = _replace_line(BASE, line_no, new_line).replace("测试市卫生健康委员会", "改名后的卫健委")
    text += ("  - email: newcomer@test.example\n    name: 新来的\n    title: 主任医师\n"
             "    birth_date: 1970-01-01\n    roles: [expert]\n")
    path = _write(tmp_path, text)
    # even a caller that catches the error and lets its unit of work commit writes nothing
    with unit_of_work() as session:
        with pytest.raises(DirectoryError) as err:
            directory.load_file(session, path)
    problems = err.value.problems
    assert len(problems) == how_many, problems
    assert all(words in problems[0] for words in expected), problems
    assert "\n".join(problems) == str(err.value)
    assert _snapshot() == before


def test_every_fault_in_a_file_is_listed_at_once(engine, tmp_path):
    text = _replace_line(BASE, 15, "    host: H9")
    text = _replace_line(text, 19, "    roles: [nobody]")
    text = _replace_line(text, 23, "    institution: H9")
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, text))
    problems = err.value.problems
    assert len(problems) == 3, problems
    assert any(f"第 {CENTER_LINE} 行" in p and "挂靠单位“H9”" in p for p in problems)
    assert any(f"第 {REVIEWER_LINE} 行" in p and "角色“nobody”无效" in p for p in problems)
    assert any(f"第 {DIRECTOR_LINE} 行" in p and "所在单位“H9”" in p for p in problems)
    assert _counts() == {m.__name__: 0 for m in MODELS}


def test_a_later_fault_names_its_own_line_when_an_earlier_entry_is_invalid(engine, tmp_path):
    text = _replace_line(BASE, 17, "  - email: reviewer-at-wjw")  # entry 1 fails validation
    text = _replace_line(text, 23, "    institution: H9")  # entry 2 fails the cross-check
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, text))
    institution_problems = [p for p in err.value.problems if "所在单位“H9”" in p]
    assert len(institution_problems) == 1
    assert f"第 {DIRECTOR_LINE} 行" in institution_problems[0], err.value.problems


@pytest.mark.parametrize("bad", ["1972-02-30", "1972-13-01"])
def test_an_impossible_calendar_date_is_a_directory_error_with_its_line(engine, tmp_path, bad):
    text = _replace_line(BASE, 22, f"    birth_date: {bad}")
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, text))
    assert any(f"第 {DIRECTOR_LINE} 行" in p or "第 22 行" in p for p in err.value.problems)
    assert _counts() == {m.__name__: 0 for m in MODELS}


def test_a_missing_commission_is_reported(engine, tmp_path):
    text = "\n".join(BASE.splitlines()[3:]) + "\n"
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, text))
    assert any("缺少 commission" in p for p in err.value.problems)
    assert _counts() == {m.__name__: 0 for m in MODELS}


def test_a_file_that_is_not_a_mapping_is_refused(engine, tmp_path):
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, "- just\n- a list\n"))
    assert "顶层应为" in err.value.problems[0]


def test_a_missing_file_is_a_directory_error(engine, tmp_path):
    with pytest.raises(DirectoryError) as err:
        _load(tmp_path / "nope.yaml")
    assert "无法读取名录文件" in err.value.problems[0] and "nope.yaml" in err.value.problems[0]


def test_an_expert_committee_that_breaks_y7_is_refused_and_nothing_is_written(engine, tmp_path):
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    bad = (text.replace("name: 宁致远\n    title: 主任护师", "name: 宁致远\n    title: 主管护师")
               .replace("birth_date: 1962-07-21", "birth_date: 1950-07-21"))
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, bad))
    problems = err.value.problems
    assert any("江望舒" in p and "超过 70 岁上限" in p and "Y§7" in p for p in problems), problems
    assert any("宁致远" in p and "主管护师" in p and "Y§7" in p for p in problems), problems
    assert _counts()["Person"] == 0


def test_an_expert_without_a_birth_date_is_refused(engine, tmp_path):
    text = DEMO_DIRECTORY.read_text(encoding="utf-8").replace("    birth_date: 1966-03-02\n", "")
    with pytest.raises(DirectoryError) as err:
        _load(_write(tmp_path, text))
    assert any("杭书白" in p and "birth_date" in p for p in err.value.problems)
