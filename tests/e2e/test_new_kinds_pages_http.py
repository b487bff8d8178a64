"""The kinds added today on their pages over real HTTP: the history names what a step changed in
Chinese (never "其他内容", never a content key), and a kind's own content section appears once, on the
case page and on the emailed task-link page alike."""
from __future__ import annotations

import re

import httpx
import pytest

from qcflow import engine
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.e2e.sessions import sign_in
from tests.e2e.test_case_pages_http import visible
from tests.helpers import REVIEWER, SECRETARY
from tests.integration.test_improvement_plan import GOALS, MEASURES, OPINION
from tests.smtp import link_in

pytestmark = pytest.mark.db

PLAN_CHANGES = {"goals": GOALS, "measures": MEASURES, "committee_opinion": OPINION}
COMPENDIUM_CHANGES = {"title": "2026年心血管内科应知应会手册",
                      "common": [{"title": "医疗质量管理办法", "source": "国家卫生计生委令第10号", "file": ""}],
                      "special": [{"title": "2026年心血管内科改进目标工作方案", "source": "青川市心血管病质控中心",
                                   "file": ""}]}
# The first words of each kind's own section (web/templates/<kind>_content.html).
OWN_SECTION = {"improvement_plan": "改进目标与目标值"}


def _case(kind: str, data: dict, trigger: str, changes: dict) -> int:
    with unit_of_work() as s:
        case_id = engine.create_case(s, kind, SECRETARY, data).id
    with unit_of_work() as s:
        engine.fire(s, kind, case_id, trigger, email=SECRETARY, changes=changes)
    return case_id


def _changed_cells(html: str) -> list[str]:
    return [visible(c) for c in re.findall(r'<div class="changed">(.*?)</div>', html, re.S)]


@pytest.mark.parametrize("kind,data,changes,names", [
    ("improvement_plan", {"center": "CARD", "year": 2026}, PLAN_CHANGES, {"改进目标", "改进措施", "专家委员会论证意见"}),
    ("compendium", {"center": "CARD", "year": 2026}, COMPENDIUM_CHANGES, {"标题", "共性内容", "个性内容"}),
])
def test_a_step_with_content_names_what_it_changed(site, kind, data, changes, names):
    base, mailbox = site
    case_id = _case(kind, data, "edit", changes)
    page = sign_in(base, mailbox, SECRETARY).get(f"/cases/{kind}/{case_id}")
    assert page.status_code == 200, page.text[:300]
    [cell] = _changed_cells(page.text)
    assert set(cell.removeprefix("修改了：").split("、")) == names, cell
    assert "其他内容" not in visible(page.text)
    history = page.text[page.text.index('class="stack history"'):]
    history = visible(history[:history.index("</table>")])
    assert not set(re.findall(r"[A-Za-z_]+", history)) & set(changes), history


def test_a_kinds_own_section_shows_once_on_the_case_page_and_on_the_task_link_page(site):
    base, mailbox = site
    case_id = _case("improvement_plan", {"center": "CARD", "year": 2026}, "submit", PLAN_CHANGES)
    deliver()
    marker = OWN_SECTION["improvement_plan"]
    link = link_in(mailbox.to(REVIEWER, "【待批准】")[-1])
    task = httpx.get(link)
    assert task.status_code == 200 and GOALS[0]["goal"] in task.text
    assert visible(task.text).count(marker) == 1
    page = sign_in(base, mailbox, REVIEWER).get(f"/cases/improvement_plan/{case_id}")
    assert page.status_code == 200 and visible(page.text).count(marker) == 1


# --- nav: the public compendium and annual reports; the mailbox only with the local sink ----------------


def _nav(html: str) -> str:
    return html[html.index("<header>"):html.index("</header>")]


def test_the_nav_leads_to_the_public_indexes_and_each_lists_the_specialties_with_their_pages(site):
    from tests.integration.test_compendium import _draft, _publish

    base, _mailbox = site
    _publish(_draft())
    home = httpx.get(base + "/")
    nav = _nav(home.text)
    assert 'href="/compendium">应知应会</a>' in nav and 'href="/annual-report">年度报告</a>' in nav

    index = httpx.get(base + "/compendium")  # no sign-in: published work is public (H2)
    assert index.status_code == 200
    rows = dict(re.findall(r'<a href="(/compendium/[^"]+)">([^<]+)</a>', index.text))
    assert "心血管内科" in rows.values() and "护理" in rows.values()
    card = next(path for path, name in rows.items() if name == "心血管内科")
    assert "第 1 版" in visible(index.text) and "尚未发布" in visible(index.text)  # cardiology published, nursing not
    assert "心血管内科专业应知应会（2026 版）" in httpx.get(base + card).text

    reports = httpx.get(base + "/annual-report")
    assert reports.status_code == 200 and "H6" in reports.text
    links = dict(re.findall(r'<a href="(/annual-report/[^"]+)">([^<]+)</a>', reports.text))
    assert {"心血管内科", "护理"} <= set(links.values())
    for path in links:
        answer = httpx.get(base + path)
        assert answer.status_code == 200 and "年度医疗服务与质量安全报告" in answer.text


def test_the_mailbox_link_shows_only_while_the_local_sink_is_on(demo, monkeypatch):
    from tests.helpers import reconfigure
    from tests.live import serving
    from tests.smtp import free_port

    monkeypatch.delenv("QCFLOW_SMTP_HOST", raising=False)
    reconfigure()
    with serving(free_port()) as base:
        assert 'href="/mailbox"' in _nav(httpx.get(base + "/").text)
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "mail.example.org")
        reconfigure()
        off = _nav(httpx.get(base + "/").text)
        assert 'href="/mailbox"' not in off and "本地邮箱" not in off
        assert httpx.get(base + "/mailbox").status_code == 404  # and the page itself is gone
    reconfigure()
