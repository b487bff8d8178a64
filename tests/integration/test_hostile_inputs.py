"""The hand-made hostile inputs of issue 12, each named: every one ends in a Chinese message and exit 2
(or is accepted, when it is good input in an unusual spelling), never a traceback, and a refusal leaves
every table as it was."""
from __future__ import annotations

import pytest

from tests.fuzz.support import CHINESE, DIRECTOR, REVIEWER, SECRETARY, dump, make_scene, run_cli, write

pytestmark = pytest.mark.db

DISCUSSION = """\
discussion:
  date: 2026-12-10
  place: 心内科示教室
  chair: 陆一鸣 主任医师
  participants: 方建国 主任医师；林小禾 主治医师
  cause_of_death: 心源性休克
  final_diagnosis: 急性广泛前壁心肌梗死（无尸检）
  course: 入院后行急诊介入
  opinions: 方建国：……
  summary: 再灌注时间延迟
"""
NOTICE = "center: CARD\ndoc_kind: meeting_notice\ntitle: 通知\nbody: 正文\nrecipients:\n  - {name: 医务科, email: a@b.example}\n"
BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
DIRECTORY_TWO_COMMISSIONS = "commission: {name: 甲, organ_code: 甲卫质控}\ncommission: {name: 乙, organ_code: 乙卫质控}\n"
MEETING = "kind: member_meeting\ntitle: 成员工作会议\nattendees:\n  - {name: 陆一鸣, title: 主任医师, institution: QCH1}\n"
CALENDAR = "year: 2027\nholidays:\n  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}\n"

# name: (argv template, file content or None); {f} is the data file, {doc} / {death} the scene's cases.
REFUSED = {
    "doc_kind_is_a_list": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"],
                           NOTICE.replace("meeting_notice", "[x]"), "公文种类"),
    "doc_kind_is_a_number": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                             "doc_kind: 5\n", "公文种类"),
    "title_is_a_mapping": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                           "title: {a: 1}\n", "标题"),
    "recipients_is_text": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                           "recipients: 医务科\n", "收件人"),
    "nan_in_a_field": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                       "title: .nan\n", ".nan"),
    "infinity_in_a_field": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                            "body: -.inf\n", ".inf"),
    "huge_integer": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                     "body: " + "9" * 5000 + "\n", "位数过多"),
    "integer_beyond_2_31": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                            "body: 3000000000\n", "超出范围"),
    "nested_5000_deep": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                         "body: " + "[" * 5000 + "]" * 5000 + "\n", "嵌套超过"),
    "alias_bomb": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                   BOMB, "锚点/别名"),
    "duplicate_key_in_data": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                              "title: 甲\ntitle: 乙\n", "重复"),
    "python_tag": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                   "title: !!python/object/apply:os.system [echo hi]\n", "不支持的 YAML 类型"),
    "binary_tag": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                   "title: !!binary aGVsbG8=\n", "不支持的 YAML 类型"),
    "set_tag": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                "title: !!set {a, b}\n", "不支持的 YAML 类型"),
    "data_is_a_list": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                       "- title: 甲\n", "键值映射"),
    "data_is_empty": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"], "", "键值映射"),
    "data_not_utf8": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"],
                      "title: 会议通知\n".encode("gbk"), "UTF-8"),
    "data_binary_garbage": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"],
                            bytes(range(256)) * 4, "UTF-8"),
    "data_two_documents": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"],
                           "title: a\n---\ntitle: b\n", "多个 YAML 文档"),
    "data_tab_indent": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"],
                        "recipients:\n\t- a\n", "不是有效的 YAML"),
    "data_file_missing": (["case", "new", "document", "--as", SECRETARY, "--data", "/nonexistent/x.yaml"],
                          None, "找不到文件"),
    "data_file_is_a_directory": (["case", "new", "document", "--as", SECRETARY, "--data", "/tmp"], None, "目录"),
    "data_too_big": (["case", "new", "document", "--as", SECRETARY, "--data", "{f}"],
                     "body: " + "字" * (2 * 1024 * 1024) + "\n", "MB 上限"),
    "key_is_a_list": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                      "? [a, b]\n: c\n", "键必须是文字"),
    "nul_in_text": (["case", "fire", "document", "{doc}", "edit", "--as", SECRETARY, "--data", "{f}"],
                    'title: "a\\0b"\n', "空字符"),
    "case_id_2_31": (["case", "show", "document", "2147483648"], None, "超出范围"),
    "case_id_huge": (["case", "fire", "document", "9" * 30, "submit", "--as", SECRETARY], None, "超出范围"),
    "case_id_zero": (["case", "show", "document", "0"], None, "超出范围"),
    "expected_version_2_31": (["case", "fire", "document", "{doc}", "submit", "--as", SECRETARY,
                               "--expected-version", "4294967296"], None, "超出范围"),
    "death_id_2_31": (["deaths", "show", "2147483648", "--as", REVIEWER], None, "超出范围"),
    "discussion_date_feb_30": (["case", "fire", "death_review", "{death}", "record_discussion", "--as", DIRECTOR,
                                "--data", "{f}"], DISCUSSION.replace("2026-12-10", "2026-02-30"), "不是存在的日期"),
    "discussion_date_year_9999": (["case", "fire", "death_review", "{death}", "record_discussion", "--as",
                                   DIRECTOR, "--data", "{f}"], DISCUSSION.replace("2026-12-10", "9999-12-31"),
                                  "超出合理范围"),
    "discussion_is_text": (["case", "fire", "death_review", "{death}", "record_discussion", "--as", DIRECTOR,
                            "--data", "{f}"], "discussion: 讨论过了\n", "键值映射"),
    "discussion_date_is_a_list": (["case", "fire", "death_review", "{death}", "record_discussion", "--as",
                                   DIRECTOR, "--data", "{f}"], DISCUSSION.replace("2026-12-10", "[1, 2]"),
                                  "讨论日期"),
    "autopsy_date_not_a_date": (["case", "fire", "death_review", "{death}", "record_autopsy_report", "--as",
                                 DIRECTOR, "--data", "{f}"], "autopsy_report_on: 明天\n", "尸检报告日期"),
    "meeting_held_on_feb_30": (["meetings", "record", "--center", "CARD", "--as", SECRETARY, "--data", "{f}"],
                               MEETING + "held_on: 2026-02-30\n", "held_on"),
    "meeting_kind_is_a_list": (["meetings", "record", "--center", "CARD", "--as", SECRETARY, "--data", "{f}"],
                               MEETING.replace("member_meeting", "[x]") + "held_on: 2026-11-20\n", ""),
    "directory_two_commission_blocks": (["directory", "load", "{f}"], DIRECTORY_TWO_COMMISSIONS, "重复"),
    "directory_centers_is_a_number": (["directory", "load", "{f}"], "centers: 5\n", "centers"),
    "directory_nested_deep": (["directory", "load", "{f}"], "people: " + "[" * 5000 + "]" * 5000, "嵌套超过"),
    "directory_alias_bomb": (["directory", "load", "{f}"], BOMB, "锚点/别名"),
    "calendar_feb_30": (["calendar", "load", "{f}"], CALENDAR.replace("2027-01-03", "2027-02-30"), "日期无效"),
    "calendar_year_is_text": (["calendar", "load", "{f}"], CALENDAR.replace("2027", "明年", 1), "year"),
    "calendar_holidays_is_a_number": (["calendar", "load", "{f}"], "year: 2027\nholidays: 5\n", "应为列表"),
    "calendar_span_to_9999": (["calendar", "load", "{f}"], CALENDAR.replace("2027-01-03", "9999-12-31"),
                              "超过一年"),
    "calendar_duplicate_year": (["calendar", "load", "{f}"], "year: 2027\nyear: 2028\n", "重复"),
    "death_report_died_feb_30": (["deaths", "report", "--hospital", "QCH1", "--as", REVIEWER, "--data", "{f}"],
                                 "病案号: X1\n入院日期: 2026-02-01\n死亡日期: 2026-02-30\n科室: 心内科\n"
                                 "主要诊断: 心梗\nDRG分组: FR29\n", "死亡日期"),
    "death_report_is_a_list": (["deaths", "report", "--hospital", "QCH1", "--as", REVIEWER, "--data", "{f}"],
                               "- 1\n", "键值映射"),
    "center_change_add_is_a_number": (["center", "change", "CARD", "--as", REVIEWER, "--data", "{f}"],
                                      "add: 5\nreason: 调整\n", ""),
    "mapping_with_alias": (["deaths", "import", "{csv}", "--hospital", "QCH1", "--as", REVIEWER,
                            "--mapping", "{f}"], "a: &x 病案号\nb: *x\n", "锚点/别名"),
}


@pytest.fixture
def scene(demo, tmp_path):
    return make_scene()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_hostile_input_is_refused_in_chinese_and_stores_nothing(name, scene, demo, tmp_path, capsys):
    argv, content, expected = REFUSED[name]
    path = write(tmp_path, "data.yaml", content) if content is not None else ""
    csv = write(tmp_path, "deaths.csv", "病案号,死亡日期\n")
    argv = [a.format(f=path, doc=scene.document, death=scene.death, csv=csv) for a in argv]
    before = dump(demo)
    ran = run_cli(capsys, *argv)
    assert ran.code == 2, (name, ran)
    assert CHINESE.search(ran.text), (name, ran)
    assert expected in ran.text, (name, ran.text)
    assert "Traceback" not in ran.text
    assert dump(demo) == before, name


def test_the_readmes_record_discussion_with_a_yaml_date_is_taken(scene, demo, tmp_path, capsys):
    ran = run_cli(capsys, "--json", "case", "fire", "death_review", str(scene.death), "record_discussion",
                  "--as", DIRECTOR, "--data", write(tmp_path, "d.yaml", DISCUSSION))
    assert ran.code == 0, ran
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:
        case = engine.load_case(s, "death_review", scene.death)
        assert case.state == "discussed"
        assert case.data["discussion"]["date"] == "2026-12-10"  # stored as the ISO text it was written as


def test_a_time_of_day_stays_text_not_base_60(scene, demo, tmp_path, capsys):
    ran = run_cli(capsys, "case", "fire", "document", str(scene.document), "edit", "--as", SECRETARY,
                  "--data", write(tmp_path, "d.yaml", "body: 14:30\n"))
    assert ran.code == 0, ran
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:
        assert engine.load_case(s, "document", scene.document).data["body"] == "14:30"
