"""The indicator dashboard over real HTTP (/indicators), signed in through emailed links: Y§22 decides
who sees institutions (the commission, the specialty's center), who only area and level aggregates
(others signed in), and who nothing (anonymous); a city links to its institutions; a guidance task's
page shows its numbers to the center."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.sessions import sign_in
from tests.helpers import OTHER_SECRETARY, REVIEWER, SECRETARY

pytestmark = pytest.mark.db


@pytest.fixture
def indicator_site(site):
    from qcflow.run import demo_indicators

    assert demo_indicators.load() is not None  # the fictional data set, its guidance tasks opened
    return site


def _page(client: httpx.Client, base: str, query: str = "") -> str:
    response = client.get(f"{base}/indicators{query}")
    assert response.status_code == 200, response.text
    return response.text


def test_anonymous_visitors_see_no_figures(indicator_site):
    base, _ = indicator_site
    text = _page(httpx.Client(), base, "?specialty=CARD&year=2026")
    assert "请先" in text and "登录" in text and "Y§22" in text
    assert "STEMI" not in text and "临溪县人民医院" not in text and "%" not in re.sub(r"<style.*?</style>", "", text, flags=re.S)


def test_the_commission_sees_institutions_flags_and_guidance_and_clicks_a_city(indicator_site):
    base, mailbox = indicator_site
    client = sign_in(base, mailbox, REVIEWER)
    text = _page(client, base, "?specialty=" + quote("心血管内科") + "&year=2026")
    assert "按医疗机构" in text and "青川市第一人民医院" in text and "临溪县人民医院" in text
    assert "⚑" in text and "专项指导任务" in text and "/cases/guidance/" in text
    links = [unescape(h) for h in re.findall(r'href="(/indicators\?[^"]*city=[^"]+)"', text)]
    link = next(h for h in links if h.endswith("city=" + quote("临溪县")))  # the area's row links to its institutions
    city = client.get(base + link).text
    assert "地区：临溪县" in city and "临溪县人民医院" in city
    assert "青川市第一人民医院" not in city  # only the city's institutions


def test_another_centers_staff_see_only_aggregates_with_small_groups_withheld(indicator_site):
    base, mailbox = indicator_site
    client = sign_in(base, mailbox, OTHER_SECRETARY)
    text = _page(client, base, "?specialty=CARD&year=2026")
    assert "地区和级别的汇总" in text and "按地区" in text and "青川市本级" in text
    assert "按医疗机构" not in text and "青川市第一人民医院" not in text and "⚑" not in text
    assert "机构不足 3 家，不显示" in text  # the 一级 group has one hospital
    narrowed = _page(client, base, f"?specialty=CARD&year=2026&level={quote('一级')}")
    assert "云岭县第二人民医院" not in narrowed and "按医疗机构" not in narrowed


def test_the_centers_secretary_opens_a_guidance_task_with_its_numbers(indicator_site):
    base, mailbox = indicator_site
    client = sign_in(base, mailbox, SECRETARY)
    text = _page(client, base, "?specialty=CARD&year=2026")
    case_path = re.search(r'href="(/cases/guidance/\d+)"', text).group(1)
    case = client.get(base + case_path)
    assert case.status_code == 200
    assert "所附数据" in case.text and "全省均值" in case.text and "记录指导" in case.text
    stranger = httpx.Client().get(base + case_path)
    assert "全省均值" not in stranger.text  # Y§22: a private kind


def test_a_bad_year_is_a_clear_refusal(indicator_site):
    base, mailbox = indicator_site
    client = sign_in(base, mailbox, REVIEWER)
    response = client.get(f"{base}/indicators?year=20x6")
    assert response.status_code == 400 and "不是四位年份" in response.text
