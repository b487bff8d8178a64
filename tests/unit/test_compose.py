"""Emails rendered from templates: every template, strict variables, HTML escaping only in the HTML part."""
from __future__ import annotations

import jinja2
import pytest

from notifications.compose import compose, template_names

LINK = "https://qc.qingchuan.example/t/Zm9vYmFyLXRva2VuLTEyMw"
# Notices about a center's obligations carry no case and no link; the rest are about a case.
NOTICE_TEMPLATES = {"meeting_reminder", "dispatch_invite"}
# Mails to one person about the platform itself (sign-in, digest, mail outage): no single case.
PERSONAL_TEMPLATES = {"signin_link", "daily_digest", "mail_outage_alert"}
CASE_TEMPLATES = [n for n in template_names() if n not in NOTICE_TEMPLATES | PERSONAL_TEMPLATES]
# Every case mail's subject names the case by its reference (the engine's `case_ref`: "公文 #12", or the
# 文号 once issued), so a mailbox of several 【待审核】 tells them apart; document_issued names doc_number.
REF_TEMPLATES = [n for n in CASE_TEMPLATES if n != "document_issued"]


def full_context(**overrides) -> dict:
    context = {
        "recipient_name": "周文清",
        "commission_name": "青川市卫生健康委员会",
        "case_title": "关于召开2026年下半年心血管病质控工作会议的通知",
        "center_name": "青川市心血管病医疗质量控制中心",
        "state_label": "审核中",
        "doc_number": "青卫质控〔2026〕7号",
        "due_date": "2026-10-12",
        "step_label": "审核",
        "kind_label": "公文",
        "case_ref": "公文 #12",  # optional: a template renders without it (see below)
        "link": LINK,
    }
    context.update(overrides)
    return context


def test_every_template_a_workflow_names_exists():
    from states.registry import WORKFLOWS

    named = {"deadline_reminder", "deadline_escalation"}
    for workflow in WORKFLOWS.values():
        for effects in workflow.on_enter.values():
            named |= {n.template for n in effects.notify}
        for transition in workflow.transitions.values():
            named |= {n.template for n in getattr(transition, "notify", ())}
    assert named <= set(template_names())


def test_partials_are_not_listed_as_templates():
    assert not any(name.startswith("_") or name == "base" for name in template_names())


@pytest.mark.parametrize("name", CASE_TEMPLATES)
def test_every_template_renders_a_subject_and_both_parts_with_the_link(name):
    email = compose(name, **full_context())
    assert email.subject.strip() != ""
    assert not email.subject.startswith("Subject")
    assert "\n" not in email.subject
    assert full_context()["case_title"] in email.subject
    assert LINK in email.text
    assert LINK in email.html
    assert not email.text.startswith("Subject:")
    assert email.text.startswith("周文清，您好")
    assert "周文清，您好" in email.html
    assert "青川市卫生健康委员会" in email.text and "青川市卫生健康委员会" in email.html
    assert email.html.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("name", CASE_TEMPLATES)
def test_no_template_leaves_a_placeholder_unrendered(name):
    email = compose(name, **full_context())
    for part in (email.subject, email.text, email.html):
        assert "{{" not in part and "{%" not in part and "None" not in part


def test_the_subject_test_covers_every_case_template_of_every_kind():
    assert {"task_review", "report_opened", "plan_submitted", "annual_report_review", "compendium_published",
            "assessment_score", "inspection_findings", "order_issued", "removal_proposed", "term_notice",
            "vacancy_opened", "handover_opened", "guidance_opened"} <= set(REF_TEMPLATES)
    assert len(REF_TEMPLATES) == len(CASE_TEMPLATES) - 1


@pytest.mark.parametrize("name", REF_TEMPLATES)
def test_case_subjects_carry_the_case_ref_before_the_title(name):
    subject = compose(name, **full_context()).subject
    assert "】公文 #12 关于召开2026年下半年" in subject
    # The HTML part's title is the same subject line.
    assert "】公文 #12 关于召开2026年下半年" in compose(name, **full_context()).html.split("</title>")[0]
    others = {compose(name, **full_context(case_ref=f"公文 #{n}")).subject for n in (12, 13, 14)}
    assert len(others) == 3  # three mails of the same kind, told apart


@pytest.mark.parametrize("name", CASE_TEMPLATES)
def test_the_case_ref_is_optional(name):
    context = full_context()
    del context["case_ref"]
    subject = compose(name, **context).subject
    assert "#12" not in subject and "  " not in subject and "】 " not in subject
    assert full_context()["case_title"] in subject


@pytest.mark.parametrize("name", ["document_issued", "notice_issued"])
def test_issued_notices_carry_the_document_number(name):
    email = compose(name, **full_context())
    assert "青卫质控〔2026〕7号" in email.text and "青卫质控〔2026〕7号" in email.html


@pytest.mark.parametrize("name", ["deadline_reminder", "deadline_escalation", "task_review"])
def test_deadline_mails_carry_the_due_date(name):
    email = compose(name, **full_context())
    assert "2026-10-12" in email.text and "2026-10-12" in email.html


@pytest.mark.parametrize("missing", ["link", "recipient_name", "commission_name", "case_title"])
@pytest.mark.parametrize("name", CASE_TEMPLATES)
def test_a_missing_variable_fails_loudly(name, missing):
    context = full_context()
    del context[missing]
    with pytest.raises(jinja2.UndefinedError, match=missing):
        compose(name, **context)


@pytest.mark.parametrize(
    "name,missing",
    [("task_review", "due_date"), ("document_issued", "doc_number"), ("deadline_escalation", "step_label"),
     ("deadline_reminder", "state_label"), ("task_signoff", "center_name")],
)
def test_a_missing_template_specific_variable_fails_loudly(name, missing):
    context = full_context()
    del context[missing]
    with pytest.raises(jinja2.UndefinedError, match=missing):
        compose(name, **context)


@pytest.mark.parametrize("name", CASE_TEMPLATES)
def test_a_script_in_the_title_is_escaped_in_html_and_kept_verbatim_in_text(name):
    title = '<script>alert("x")</script>会议通知'
    email = compose(name, **full_context(case_title=title))
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert title in email.text
    assert title in email.subject


@pytest.mark.parametrize("name", CASE_TEMPLATES)
def test_an_ampersand_in_the_link_is_html_escaped_only_in_the_html_part(name):
    link = "https://qc.qingchuan.example/t/abc?x=1&y=2"
    email = compose(name, **full_context(link=link))
    assert link in email.text
    assert "https://qc.qingchuan.example/t/abc?x=1&amp;y=2" in email.html


NOTICE_CONTEXT = {
    "meeting_reminder": {"center_name": "青川市护理质量控制中心", "obligation_label": "2026年下半年成员工作会议",
                         "kind_label": "成员工作会议", "period_label": "2026年下半年", "period_unit": "半年",
                         "period_end": "2026-12-31", "minimum": 1, "rule": "Y§19", "today": "2026-12-10"},
    "dispatch_invite": {"center_name": "青川市护理质量控制中心", "meeting_title": "2027年1月工作调度会",
                        "meeting_time": "2027-01-05 09:30", "location": "卫健委第一会议室",
                        "topics": "各中心月度工作", "rule": "H4"},
}


@pytest.mark.parametrize("name", sorted(NOTICE_TEMPLATES))
def test_notice_templates_render_strictly_with_their_own_context(name):
    base = {"recipient_name": "唐雨晴", "commission_name": "青川市卫生健康委员会"}
    email = compose(name, **base, **NOTICE_CONTEXT[name])
    assert email.subject and "青川市护理质量控制中心" in email.text + email.subject
    for key in NOTICE_CONTEXT[name]:
        with pytest.raises(jinja2.UndefinedError):
            compose(name, **base, **{k: v for k, v in NOTICE_CONTEXT[name].items() if k != key})


PERSONAL_CONTEXT = {
    "signin_link": {"link": LINK, "minutes": 15, "expires_at": "2026-11-24 10:15"},
    "daily_digest": {"day": "2026-11-24", "count": 1, "link": "https://qc.qingchuan.example/tasks",
                     "tasks": [{"kind_label": "公文", "title": "关于召开会议的通知", "state_label": "已提交",
                                "overdue": True, "steps": "审核通过、退回修改", "due": "2026-11-20",
                                "url": "https://qc.qingchuan.example/cases/document/1"}]},
    "mail_outage_alert": {"failing_since": "2026-11-24 09:00", "alert_after": 30,
                          "error": "Connection refused", "outbox_url": "https://qc.qingchuan.example/outbox"},
}


def test_every_template_is_in_exactly_one_family():
    families = [set(CASE_TEMPLATES), NOTICE_TEMPLATES, PERSONAL_TEMPLATES]
    assert set().union(*families) == set(template_names())
    assert sum(len(f) for f in families) == len(template_names())


@pytest.mark.parametrize("name", sorted(PERSONAL_TEMPLATES))
def test_personal_templates_render_strictly_with_their_own_context(name):
    base = {"recipient_name": "周文清", "commission_name": "青川市卫生健康委员会"}
    email = compose(name, **base, **PERSONAL_CONTEXT[name])
    assert email.subject.strip() and "\n" not in email.subject
    assert email.text.startswith("周文清，您好") and "周文清，您好" in email.html
    for part in (email.subject, email.text, email.html):
        assert "{{" not in part and "{%" not in part and "None" not in part
    for key in [*base, *PERSONAL_CONTEXT[name]]:
        context = {**base, **PERSONAL_CONTEXT[name]}
        del context[key]
        with pytest.raises(jinja2.UndefinedError):
            compose(name, **context)


def test_the_digest_escapes_a_title_in_html_and_keeps_it_in_text():
    context = {**PERSONAL_CONTEXT["daily_digest"]}
    context["tasks"] = [{**context["tasks"][0], "title": '<script>alert("x")</script>通知'}]
    email = compose("daily_digest", recipient_name="周文清", commission_name="青川市卫生健康委员会", **context)
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert '<script>alert("x")</script>通知' in email.text
