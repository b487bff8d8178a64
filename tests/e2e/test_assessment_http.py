"""The annual assessment end to end over real HTTP (Y§24): the campaign opens one assessment per demo
center, every mail is received by a real SMTP server on 127.0.0.1, and every decision is taken from
the emailed link as a browser posts it (CSRF, version): the centers self-assess, the scorers score
with the evidence on their page (a deduction without a reason is refused, citing Y§24), the
commission moderates and publishes, and the ranking page shows the grades."""
from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlmodel import select

from models import Case

from qcflow.services import assessment, meetings
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.e2e.formpost import post
from tests.helpers import DIRECTOR, REVIEWER, REVIEWER2, ROOT, SECRETARY
from tests.smtp import SmtpServer, link_in

pytestmark = pytest.mark.db

NURS_DIRECTOR = "director@nurs.qingchuan.example"
FULL = {"1": 10, "2": 10, "3": 20, "4": 20, "5": 10, "6": 10, "7": 20}


def mail(mailbox: SmtpServer, to: str, subject: str, count: int = 1, timeout: float = 10.0):
    """The latest message to `to` whose subject has `subject`, once at least `count` of them arrived."""
    deadline = time.monotonic() + timeout
    while True:
        # The subject names the case ("【年度考核·待评分】年度考核 #5 青川市…"); `subject` names the center.
        found = [m for m in mailbox.messages if to in m["To"] and subject in re.sub(r"年度考核 #\d+ ", "", m["Subject"])]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, (to, subject, [m["Subject"] for m in mailbox.messages if to in m["To"]])
            return found[-1]
        time.sleep(0.05)


def table(**scores: tuple[float, str]) -> str:
    """A score sheet as the page's text box takes it: one `item | score | reason` line per item."""
    return "\n".join(f"{code} | {scores.get(f'i{code}', (top, ''))[0]} | {scores.get(f'i{code}', (top, ''))[1]}"
                     for code, top in FULL.items())


def reasons_on(page: httpx.Response) -> list[str]:
    block = re.search(r'<div class="reasons">(.*?)</div>', page.text, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S) if block else []


def test_a_campaign_from_opening_to_published_ranking_from_the_emailed_links(site):
    base, mailbox = site
    with unit_of_work() as s:
        meetings.record_meeting(s, "CARD", SECRETARY, {"kind": "member_meeting", "held_on": "2026-06-20",
                                                      "title": "心血管质控成员工作会议", "attendees": [{"name": "陆一鸣"}]})
        assessment.load_rubric(s, (ROOT / "demo" / "rubric-2026.yaml").read_bytes(), "rubric-2026.yaml", 2026)
        opened = assessment.open_assessments(s, 2026)
        scorers = {code: s.exec(select(Case).where(Case.key == f"assessment:{code}:2026")).one().data["experts"]
                   for code in ("CARD", "NURS")}
    assert opened["opened"] == ["CARD", "NURS"]
    deliver()

    # The centers self-assess from their mails.
    for director in (DIRECTOR, NURS_DIRECTOR):
        link = link_in(mail(mailbox, director, "【年度考核·待自评】"))
        shown = httpx.get(link)
        assert shown.status_code == 200 and "考核佐证" in shown.text
        done = post(link, {"decision": "self_assess", "self_assess.self_summary": "全年完成质控计划。",
                           "self_assess.self_scores": table()})
        assert done.status_code == 200 and "已办理：提交自评" in done.text

    # The scorers see the evidence on the page their mail opens, with a link to the record.
    for expert in scorers["CARD"]:
        assert mail(mailbox, expert, "【年度考核·评分专家】")
    first, second = scorers["CARD"]
    link = link_in(mail(mailbox, first, "【年度考核·待评分】青川市心血管病"))
    page = httpx.get(link)
    assert "成员工作会议和培训（Y§19）" in page.text and "成员工作会议：心血管质控成员工作会议" in page.text
    assert re.search(r'<a href="/new/meeting/\d+">成员工作会议：心血管质控成员工作会议</a>', page.text)
    refused = post(link, {"decision": "score", "score.scores": table(i4=(15, ""))})
    assert refused.status_code == 422
    assert any("扣 5 分，须写明扣分理由" in r and "Y§24" in r for r in reasons_on(refused)), reasons_on(refused)
    scored = post(link, {"decision": "score", "score.scores": table(i4=(15, "全年仅召开 1 次成员会议"))})
    assert scored.status_code == 200 and "已办理：提交评分" in scored.text
    post(link_in(mail(mailbox, second, "【年度考核·待评分】青川市心血管病")),
         {"decision": "score", "score.scores": table(i4=(17, "培训参与面不广"))})
    for expert in scorers["NURS"]:
        post(link_in(mail(mailbox, expert, "【年度考核·待评分】青川市护理")),
             {"decision": "score", "score.scores": table(i3=(10, "未开展年度监测"), i7=(12, "年报数据分析不足"))})

    # The commission moderates (a veto needs its ground) and another reviewer publishes.
    card_moderate = link_in(mail(mailbox, REVIEWER, "【年度考核·待审定】青川市心血管病"))
    no_ground = post(card_moderate, {"decision": "moderate", "moderate.veto": "V1"})
    assert no_ground.status_code == 422 and any("认定一票否决须写明事实依据" in r for r in reasons_on(no_ground))
    assert "已办理：审定考核结果" in post(card_moderate, {"decision": "moderate", "moderate.provincial_rank": "1"}).text
    nurs_moderate = link_in(mail(mailbox, REVIEWER, "【年度考核·待审定】青川市护理"))
    post(nurs_moderate, {"decision": "moderate"})
    for center in ("青川市心血管病", "青川市护理"):
        published = post(link_in(mail(mailbox, REVIEWER2, f"【年度考核·待发布】{center}")), {"decision": "publish"})
        assert "已办理：发布考核结果" in published.text

    # The centers hear of their grade; the ranking page shows it.
    assert mail(mailbox, DIRECTOR, "【年度考核·结果发布】") and mail(mailbox, NURS_DIRECTOR, "【年度考核·结果发布】")
    ranking = httpx.get(f"{base}/assessment/2026")
    assert ranking.status_code == 200
    rows = re.findall(r'<td data-label="名次">(\d+)</td><td data-label="质控中心"><a href="[^"]+">([^<]+)</a></td>'
                      r'<td data-label="项目得分">([\d.]+)</td><td data-label="加分">([\d.]+)</td>'
                      r'<td data-label="总分">([\d.]+)</td><td data-label="等次">([^<]+)</td>', ranking.text)
    # CARD: 100 − 4 (mean of 15 and 17 on item 4) + 3 (provincial 1st); NURS: 100 − 10 − 8.
    assert rows == [("1", "青川市心血管病医疗质量控制中心", "96.0", "3.0", "99.0", "优秀"),
                    ("2", "青川市护理质量控制中心", "82.0", "0.0", "82.0", "良好")]
    history = httpx.get(f"{base}/assessment/center/NURS")
    assert "良好" in history.text and "2026" in history.text
    case_path = re.search(r'<a href="(/cases/assessment/\d+)">青川市心血管病医疗质量控制中心</a>', ranking.text).group(1)
    case_page = httpx.get(f"{base}{case_path}")
    assert case_page.status_code == 200 and "审定结果" in case_page.text and "<strong>优秀</strong>" in case_page.text
    assert "全省排名第 1 位，加 3 分" in case_page.text and "全年仅召开 1 次成员会议" in case_page.text
    latest = httpx.get(f"{base}/assessment", follow_redirects=False)
    assert latest.status_code == 303 and latest.headers["location"] == "/assessment/2026"
    assert httpx.get(f"{base}/assessment/２０２６").status_code == 404
    center = httpx.get(f"{base}/centers/NURS")
    assert center.status_code == 200 and 'href="/assessment/center/NURS"' in center.text
