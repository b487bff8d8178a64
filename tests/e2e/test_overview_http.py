"""The commission's overview, search with pagination, the registry, a center's page and the glossary,
over real HTTP; private titles stay hidden from those who may not open the case (Y§22)."""
from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select

from models import Case
from qcflow import engine
from qcflow.services.reports import open_reports
from qcflow.store.db import unit_of_work
from tests.e2e.test_case_pages_http import sign_in, visible
from tests.helpers import LEADER, REVIEWER, SECRETARY, fire, new_document
from tests.integration.test_death_review import COMMISSION, DEATH

pytestmark = pytest.mark.db


def _documents(n: int, **overrides) -> list[int]:
    with unit_of_work() as s:
        return [new_document(s, title=f"关于第{i + 1}次心血管病质控工作会议的通知", **overrides) for i in range(n)]


def _deaths(n: int) -> list[int]:
    ids = []
    with unit_of_work() as s:
        for i in range(n):
            died = f"2026-11-{5 + i % 20:02d}"  # titles name the hospital and the day of death
            data = {**DEATH, "record_no": f"BA-{i:04d}", "patient_key": f"{i:064d}", "died_on": died}
            case = engine.create_case(s, "death_review", COMMISSION, data)
            ids.append(case.id)
    return ids


def _issued(case_id: int) -> None:
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "approve", REVIEWER)
    fire(case_id, "sign", LEADER)


def _result_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'href="/cases/[a-z_]+/(\d+)"', html)]


def test_the_home_page_is_an_overview_not_every_case(site):
    base, _ = site
    _documents(3)
    _deaths(120)
    with unit_of_work() as s:
        open_reports(s, "year_end")
    page = httpx.get(base + "/")
    assert page.status_code == 200
    text = visible(page.text)
    assert "工作概况" in text and "死亡病例评审" in text and "质控中心" in text
    assert "QCH1" not in page.text  # no case titles of private cases, and no list of every case
    assert len(page.text) < 40_000, len(page.text)
    # One click into each: kinds and states go to the search, centers to their page.
    assert 'href="/search?kind=death_review&amp;state=reported"' in page.text
    assert 'href="/centers/CARD"' in page.text
    assert "已报告 120" in text


def test_search_pages_50_at_a_time_newest_first(site):
    base, _ = site
    ids = _documents(60)
    first = httpx.get(base + "/search", params={"kind": "document"})
    assert first.status_code == 200 and "共 60 件" in visible(first.text) and "第 1 / 2 页" in visible(first.text)
    shown = _result_ids(first.text)
    assert shown == sorted(ids, reverse=True)[:50]
    second = httpx.get(base + "/search", params={"kind": "document", "page": "2"})
    assert _result_ids(second.text) == sorted(ids, reverse=True)[50:]
    assert "上一页" in second.text and "下一页" not in second.text
    assert httpx.get(base + "/search", params={"page": "x"}).status_code == 200  # a bad page number is page 1


def test_search_filters_by_state_center_number_and_title(site):
    base, _ = site
    ids = _documents(3)
    _issued(ids[0])
    by_state = httpx.get(base + "/search", params={"kind": "document", "state": "issued"})
    assert _result_ids(by_state.text) == [ids[0]]
    with unit_of_work() as s:
        year = s.get(Case, ids[0]).created_at.year
    by_number = httpx.get(base + "/search", params={"number": f"〔{year}〕1"})
    assert _result_ids(by_number.text) == [ids[0]] and f"〔{year}〕1号" in by_number.text
    by_title = httpx.get(base + "/search", params={"q": "第2次"})
    assert _result_ids(by_title.text) == [ids[1]]
    by_center = httpx.get(base + "/search", params={"center": "NURS"})
    assert _result_ids(by_center.text) == []
    assert sorted(_result_ids(httpx.get(base + "/search", params={"center": "CARD"}).text)) == sorted(ids)
    bad = httpx.get(base + "/search", params={"kind": "nothing"})
    assert bad.status_code == 422 and "没有“nothing”这类事项" in bad.text


def test_search_never_shows_or_matches_a_private_title_for_those_who_may_not_open_it(site):
    base, mailbox = site
    death_ids = _deaths(2)
    anonymous = httpx.get(base + "/search", params={"kind": "death_review"})
    assert "QCH1" not in anonymous.text and f"死亡病例评审 #{death_ids[0]}" in anonymous.text
    assert _result_ids(httpx.get(base + "/search", params={"q": "2026-11-06"}).text) == []
    reviewer = sign_in(base, mailbox, REVIEWER)
    found = reviewer.get("/search", params={"q": "2026-11-06"})
    assert _result_ids(found.text) == [death_ids[1]] and "QCH1" in found.text


def test_the_registry_names_centers_people_roles_and_terms(site):
    base, _ = site
    page = httpx.get(base + "/centers")
    assert page.status_code == 200
    text = visible(page.text)
    assert "青川市心血管病医疗质量控制中心" in text and "主任医师" in text and "签发领导" in text
    assert "@" not in text
    assert not re.search(r"\b(center_director|signing_leader|commission_reviewer|active)\b", text)


def test_a_centers_page_lists_its_obligations_and_their_status(site):
    base, _ = site
    with unit_of_work() as s:
        open_reports(s, "year_end")
        report = s.exec(select(Case).where(Case.kind == "report")).first()
        code = s.exec(select(Case.center_id).where(Case.id == report.id)).first()
        from models import Center  # noqa: PLC0415

        code = s.get(Center, code).code
    page = httpx.get(f"{base}/centers/{code}")
    assert page.status_code == 200
    text = visible(page.text)
    assert "应办事项" in text and "待提交" in text and f'href="/cases/report/{report.id}"' in page.text
    assert httpx.get(base + "/centers/NOPE").status_code == 404


def test_the_glossary_explains_article_codes_and_pages_link_to_it(site):
    base, _ = site
    page = httpx.get(base + "/glossary")
    assert page.status_code == 200
    assert 'id="Y10"' in page.text and "《岳阳市市级医疗质量控制中心管理办法》第十条" in page.text
    assert 'id="H5"' in page.text and "根因溯源" in page.text
    registry = httpx.get(base + "/centers")
    assert re.search(r'<a class="article" href="/glossary#Y26"><abbr title="[^"]*第二十六条', registry.text)


def test_due_rows_open_the_case_page(site):
    base, _ = site
    ids = _documents(1)
    fire(ids[0], "submit", SECRETARY)
    page = httpx.get(base + "/due")
    assert f'href="/cases/document/{ids[0]}"' in page.text
