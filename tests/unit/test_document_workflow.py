"""Workflow 1 (发文审核, Y§18) as pure rules: every state against every step, who may fire it, and why not.

The expectations are written out here by hand, from DOMAIN.md, and never read from
`WORKFLOW.transitions`: a change to the table in states/document.py must break a test.
"""
from __future__ import annotations

import pytest

from states.document import WORKFLOW
from states.rules import SYSTEM, Actor, CaseView, PastEvent, Reason, Refused
from states.workflow import Attempt
from tests.unit.table import cells, only_reason
from tests.helpers import notice_data

CARD, NURS = 10, 20

SECRETARY = Actor(1, "林小禾", frozenset({("center_secretary", CARD)}))
DIRECTOR = Actor(2, "陆一鸣", frozenset({("center_director", CARD)}))
DEPUTY = Actor(3, "方建国", frozenset({("center_deputy", CARD)}))
OTHER_SECRETARY = Actor(4, "唐雨晴", frozenset({("center_secretary", NURS)}))
REVIEWER = Actor(5, "周文清", frozenset({("commission_reviewer", None)}))
REVIEWER2 = Actor(6, "许晓岚", frozenset({("commission_reviewer", None)}))
LEADER = Actor(7, "孙正和", frozenset({("signing_leader", None)}))
LEADER2 = Actor(8, "韩明远", frozenset({("signing_leader", None)}))
# holds both commission roles: the four-eyes rule is what stops them doing both steps
REVIEWER_LEADER = Actor(9, "钱两职", frozenset({("commission_reviewer", None), ("signing_leader", None)}))
NOBODY = Actor(11, "路人甲", frozenset())
EXPERT = Actor(12, "白敬之", frozenset({("expert", None)}))

STATE_LABELS = {
    "draft": "拟稿",
    "submitted": "已提交",
    "in_review": "审核中",
    "changes_requested": "退回修改",
    "awaiting_signoff": "待签发",
    "approved": "已签发",
    "issued": "已印发",
    "rejected": "不予发文",
    "withdrawn": "已撤回",
}
FINAL = ("issued", "rejected", "withdrawn")
FINAL_HINT = "已印发的公文不可更改；如需更正，请另拟新文并注明所替代的文号"

# trigger → (label people see, rule it cites, who may fire it as people read it)
STEPS = {
    "edit": ("修改", "Y§18", "质控中心主任或质控中心秘书"),
    "submit": ("提交审核", "Y§18", "质控中心主任或质控中心秘书"),
    "withdraw": ("撤回", "Y§18", "质控中心主任或质控中心秘书"),
    "claim": ("开始审核", "Y§18", "卫健委审核人（医政医管科）"),
    "approve": ("审核通过", "Y§18", "卫健委审核人（医政医管科）"),
    "request_changes": ("退回修改", "Y§18", "卫健委审核人（医政医管科）"),
    "reject": ("不予发文", "Y§18", "卫健委审核人（医政医管科）或签发领导"),
    "return_for_review": ("退回重审", "Y§18", "签发领导"),
    "sign": ("签发", "Y§18", "签发领导"),
    "issue": ("编号印发", "GB/T 9704-2012 §7.2.5", "系统"),
}

# The whole table, state by state: the steps allowed there and where each leads.
# A step missing from a state's row is refused in that state.
ALLOWED = {
    "draft": {"edit": "draft", "submit": "submitted", "withdraw": "withdrawn"},
    "submitted": {
        "withdraw": "withdrawn", "claim": "in_review", "approve": "awaiting_signoff",
        "request_changes": "changes_requested", "reject": "rejected",
    },
    "in_review": {
        "withdraw": "withdrawn", "approve": "awaiting_signoff",
        "request_changes": "changes_requested", "reject": "rejected",
    },
    "changes_requested": {"edit": "changes_requested", "submit": "submitted", "withdraw": "withdrawn"},
    "awaiting_signoff": {"reject": "rejected", "return_for_review": "in_review", "sign": "approved"},
    "approved": {"issue": "issued"},
    "issued": {},
    "rejected": {},
    "withdrawn": {},
}
SOURCES = {t: tuple(s for s in STATE_LABELS if t in ALLOWED[s]) for t in STEPS}

# The person who may fire a step in a state (any one who may, with a comment where one is needed).
RIGHT_ACTOR = {
    "edit": SECRETARY, "submit": SECRETARY, "withdraw": SECRETARY,
    "claim": REVIEWER, "approve": REVIEWER, "request_changes": REVIEWER, "reject": REVIEWER,
    "return_for_review": LEADER, "sign": LEADER2, "issue": SYSTEM,
}
# People who may never fire the step, whatever the state.
WRONG_ACTORS = {
    "edit": (OTHER_SECRETARY, DEPUTY, REVIEWER, LEADER, NOBODY, SYSTEM),
    "submit": (OTHER_SECRETARY, DEPUTY, REVIEWER, LEADER, EXPERT, NOBODY, SYSTEM),
    "withdraw": (OTHER_SECRETARY, DEPUTY, REVIEWER, LEADER, NOBODY, SYSTEM),
    "claim": (SECRETARY, DIRECTOR, LEADER, EXPERT, NOBODY, SYSTEM),
    "approve": (SECRETARY, DIRECTOR, LEADER, LEADER2, EXPERT, NOBODY, SYSTEM),
    "request_changes": (SECRETARY, DIRECTOR, LEADER, EXPERT, NOBODY, SYSTEM),
    "reject": (SECRETARY, DIRECTOR, OTHER_SECRETARY, EXPERT, NOBODY, SYSTEM),
    "return_for_review": (SECRETARY, DIRECTOR, REVIEWER, EXPERT, NOBODY, SYSTEM),
    "sign": (SECRETARY, DIRECTOR, REVIEWER, REVIEWER2, EXPERT, NOBODY, SYSTEM),
    "issue": (SECRETARY, DIRECTOR, REVIEWER, LEADER, REVIEWER_LEADER, NOBODY),
}


def case_in(state: str, *, created_by: int = SECRETARY.person_id, history=(), **data) -> CaseView:
    content = notice_data()
    content.update(data)
    if not history and state in ("awaiting_signoff", "approved"):
        history = (PastEvent("approve", REVIEWER.person_id, "awaiting_signoff"),)
    return CaseView(kind="document", state=state, center_id=CARD, created_by_id=created_by,
                    data=content, history=tuple(history))


def attempt_of(trigger: str, **kwargs) -> Attempt:
    kwargs.setdefault("comment", "意见：请按要求处理")
    return Attempt(trigger, **kwargs)


ALL_CELLS, ALLOWED_CELLS, REFUSED_CELLS = cells(STATE_LABELS, STEPS, ALLOWED)


def test_the_table_covers_every_state_and_every_step():
    assert set(WORKFLOW.states) == set(STATE_LABELS)
    assert set(WORKFLOW.transitions) == set(STEPS)
    assert WORKFLOW.initial == "draft"
    assert len(ALL_CELLS) == 90 and len(ALLOWED_CELLS) == 19


@pytest.mark.parametrize("state", list(STATE_LABELS))
def test_every_state_shows_its_chinese_name(state):
    assert WORKFLOW.state_label(state) == STATE_LABELS[state]


@pytest.mark.parametrize("state,trigger", ALLOWED_CELLS)
def test_the_right_actor_may_take_an_allowed_step_and_it_leads_to_the_expected_state(state, trigger):
    case = case_in(state)
    actor = RIGHT_ACTOR[trigger]
    assert WORKFLOW.check(case, actor, attempt_of(trigger)) == []
    assert WORKFLOW.next_state(case, actor, attempt_of(trigger)) == ALLOWED[state][trigger]


@pytest.mark.parametrize("state,trigger", REFUSED_CELLS)
def test_a_step_in_the_wrong_state_is_refused_with_the_article_and_the_states_it_needs(state, trigger):
    label, rule, _ = STEPS[trigger]
    reason = only_reason(WORKFLOW.check(case_in(state), RIGHT_ACTOR[trigger], attempt_of(trigger)))
    assert reason.rule == rule
    assert f"“{label}”" in reason.message
    if state in FINAL:
        assert f"状态为{STATE_LABELS[state]}" in reason.message
        assert "不能再" in reason.message
        assert FINAL_HINT in reason.message
    else:
        allowed = "、".join(STATE_LABELS[s] for s in SOURCES[trigger])
        assert reason.message == f"“{label}”只能在{allowed}状态下进行，当前为{STATE_LABELS[state]}"
    with pytest.raises(Refused) as refused:
        WORKFLOW.next_state(case_in(state), RIGHT_ACTOR[trigger], attempt_of(trigger))
    assert refused.value.reasons == [reason]
    assert rule in str(refused.value)


@pytest.mark.parametrize(
    "state,trigger,actor",
    [(s, t, a) for s, t in ALLOWED_CELLS for a in WRONG_ACTORS[t]],
    ids=lambda x: x.name if isinstance(x, Actor) else str(x),
)
def test_an_allowed_step_is_refused_to_anyone_without_the_role(state, trigger, actor):
    label, rule, who = STEPS[trigger]
    reasons = WORKFLOW.check(case_in(state), actor, attempt_of(trigger))
    if trigger == "issue":  # a system step: people are told it happens by itself
        assert reasons == [Reason(rule, f"“{label}”由系统自动进行，不能手动操作")]
    else:
        role_reasons = [r for r in reasons if "没有此权限" in r.message]
        assert len(role_reasons) == 1, reasons
        assert role_reasons[0] == Reason(rule, f"“{label}”只能由{who}进行，{actor.name}没有此权限")
    with pytest.raises(Refused):
        WORKFLOW.next_state(case_in(state), actor, attempt_of(trigger))


def test_a_secretary_of_another_center_cannot_submit_or_edit():
    case = case_in("draft")
    for trigger in ("submit", "edit"):
        reason = only_reason(WORKFLOW.check(case, OTHER_SECRETARY, attempt_of(trigger)))
        assert reason.rule == "Y§18"
        assert "质控中心主任或质控中心秘书" in reason.message and "唐雨晴没有此权限" in reason.message


def test_the_director_of_the_center_may_submit_a_draft_the_secretary_wrote():
    assert WORKFLOW.check(case_in("draft"), DIRECTOR, attempt_of("submit")) == []


def test_a_deputy_director_cannot_submit():
    reason = only_reason(WORKFLOW.check(case_in("draft"), DEPUTY, attempt_of("submit")))
    assert "方建国没有此权限" in reason.message


@pytest.mark.parametrize("state", ["draft", "changes_requested"])
def test_a_reviewer_cannot_submit(state):
    reason = only_reason(WORKFLOW.check(case_in(state), REVIEWER, attempt_of("submit")))
    assert reason.rule == "Y§18" and "周文清没有此权限" in reason.message


@pytest.mark.parametrize("state", ["submitted", "in_review"])
def test_a_signing_leader_cannot_approve(state):
    reason = only_reason(WORKFLOW.check(case_in(state), LEADER, attempt_of("approve")))
    assert reason.rule == "Y§18"
    assert "“审核通过”只能由卫健委审核人（医政医管科）进行" in reason.message
    assert "孙正和没有此权限" in reason.message


@pytest.mark.parametrize("state", ["submitted", "in_review", "awaiting_signoff"])
def test_a_signing_leader_may_reject(state):
    assert WORKFLOW.next_state(case_in(state), LEADER, attempt_of("reject")) == "rejected"


@pytest.mark.parametrize(
    "state,trigger,actor,expected_words",
    [
        ("submitted", "request_changes", REVIEWER, "退回修改须填写修改意见"),
        ("in_review", "request_changes", REVIEWER, "退回修改须填写修改意见"),
        ("submitted", "reject", REVIEWER, "不予发文须填写理由"),
        ("in_review", "reject", REVIEWER, "不予发文须填写理由"),
        ("awaiting_signoff", "reject", LEADER, "不予发文须填写理由"),
        ("awaiting_signoff", "return_for_review", LEADER, "退回重审须填写意见"),
    ],
)
@pytest.mark.parametrize("comment", ["", "   ", "\n\t"])
def test_a_step_that_needs_a_comment_is_refused_without_one(state, trigger, actor, expected_words, comment):
    reason = only_reason(WORKFLOW.check(case_in(state), actor, Attempt(trigger, comment=comment)))
    assert reason.rule == "Y§18"
    assert expected_words in reason.message
    assert WORKFLOW.check(case_in(state), actor, Attempt(trigger, comment="请补充会议议程")) == []


@pytest.mark.parametrize(
    "state,trigger,actor",
    [("submitted", "approve", REVIEWER), ("submitted", "claim", REVIEWER), ("awaiting_signoff", "sign", LEADER2),
     ("draft", "submit", SECRETARY), ("draft", "withdraw", SECRETARY)],
)
def test_steps_that_do_not_need_a_comment_go_ahead_without_one(state, trigger, actor):
    assert WORKFLOW.check(case_in(state), actor, Attempt(trigger)) == []


def test_the_approver_cannot_sign_four_eyes():
    case = case_in("awaiting_signoff", history=(PastEvent("approve", REVIEWER_LEADER.person_id, "awaiting_signoff"),))
    reason = only_reason(WORKFLOW.check(case, REVIEWER_LEADER, attempt_of("sign")))
    assert reason.rule == "Y§18"
    assert "四眼原则" in reason.message and "另一位签发领导" in reason.message
    with pytest.raises(Refused):
        WORKFLOW.next_state(case, REVIEWER_LEADER, attempt_of("sign"))


def test_another_signing_leader_may_sign_what_the_dual_role_person_approved():
    case = case_in("awaiting_signoff", history=(PastEvent("approve", REVIEWER_LEADER.person_id, "awaiting_signoff"),))
    assert WORKFLOW.next_state(case, LEADER, attempt_of("sign")) == "approved"


def test_a_dual_role_person_may_sign_what_someone_else_approved():
    case = case_in("awaiting_signoff", history=(PastEvent("approve", REVIEWER.person_id, "awaiting_signoff"),))
    assert WORKFLOW.check(case, REVIEWER_LEADER, attempt_of("sign")) == []


def test_anyone_who_approved_earlier_in_history_cannot_sign_after_a_return_for_review():
    history = (
        PastEvent("submit", SECRETARY.person_id, "submitted"),
        PastEvent("approve", REVIEWER_LEADER.person_id, "awaiting_signoff"),
        PastEvent("return_for_review", LEADER.person_id, "in_review"),
        PastEvent("approve", REVIEWER.person_id, "awaiting_signoff"),
    )
    reasons = WORKFLOW.check(case_in("awaiting_signoff", history=history), REVIEWER_LEADER, attempt_of("sign"))
    assert any("四眼原则" in r.message for r in reasons), reasons


@pytest.mark.parametrize("state", ["draft", "submitted", "in_review", "changes_requested"])
def test_only_the_drafter_may_withdraw(state):
    case = case_in(state, created_by=SECRETARY.person_id)
    assert WORKFLOW.next_state(case, SECRETARY, attempt_of("withdraw")) == "withdrawn"
    reason = only_reason(WORKFLOW.check(case, DIRECTOR, attempt_of("withdraw")))
    assert reason == Reason("Y§18", "只有拟稿人本人可以撤回公文")


def test_the_director_may_withdraw_a_document_the_director_drafted():
    case = case_in("submitted", created_by=DIRECTOR.person_id)
    assert WORKFLOW.check(case, DIRECTOR, attempt_of("withdraw")) == []
    assert only_reason(WORKFLOW.check(case, SECRETARY, attempt_of("withdraw"))).message == "只有拟稿人本人可以撤回公文"


@pytest.mark.parametrize("state", ["awaiting_signoff", "approved"])
def test_the_drafter_cannot_withdraw_after_the_review_decision(state):
    reason = only_reason(WORKFLOW.check(case_in(state), SECRETARY, attempt_of("withdraw")))
    assert "“撤回”只能在" in reason.message and f"当前为{STATE_LABELS[state]}" in reason.message


@pytest.mark.parametrize("state", FINAL)
def test_editing_a_closed_document_is_refused_with_the_hint_to_draft_a_superseding_one(state):
    attempt = Attempt("edit", changes={"title": "更正后的标题"})
    reason = only_reason(WORKFLOW.check(case_in(state), SECRETARY, attempt))
    assert reason.rule == "Y§18"
    assert reason.message.startswith(f"该公文状态为{STATE_LABELS[state]}，不能再“修改”")
    assert "另拟新文" in reason.message and "所替代的文号" in reason.message
    with pytest.raises(Refused) as refused:
        WORKFLOW.next_state(case_in(state), SECRETARY, attempt)
    assert "已印发的公文不可更改" in str(refused.value)


def test_issue_is_only_fired_by_the_system():
    case = case_in("approved")
    assert WORKFLOW.next_state(case, SYSTEM, Attempt("issue")) == "issued"
    for person in (LEADER, REVIEWER, REVIEWER_LEADER, SECRETARY):
        reason = only_reason(WORKFLOW.check(case, person, Attempt("issue")))
        assert reason == Reason("GB/T 9704-2012 §7.2.5", "“编号印发”由系统自动进行，不能手动操作")


def test_the_system_cannot_take_a_human_step():
    reason = only_reason(WORKFLOW.check(case_in("awaiting_signoff"), SYSTEM, attempt_of("sign")))
    assert "系统没有此权限" in reason.message


def test_edit_changes_content_without_changing_the_state():
    attempt = Attempt("edit", changes={"title": "关于调整会议时间的通知"})
    assert WORKFLOW.next_state(case_in("changes_requested"), SECRETARY, attempt) == "changes_requested"


@pytest.mark.parametrize(
    "state,trigger,actor",
    [("submitted", "approve", REVIEWER), ("submitted", "claim", REVIEWER),
     ("awaiting_signoff", "sign", LEADER2), ("draft", "withdraw", SECRETARY)],
)
def test_a_step_that_does_not_take_changes_refuses_content_edits(state, trigger, actor):
    label = STEPS[trigger][0]
    attempt = attempt_of(trigger, changes={"title": "偷偷改的标题"})
    reason = only_reason(WORKFLOW.check(case_in(state), actor, attempt))
    assert reason == Reason("Y§18", f"“{label}”时不能修改内容")


# --- content validation --------------------------------------------------------------------


def test_the_demo_notice_is_valid_content():
    assert WORKFLOW.validate(notice_data()) == []


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"title": ""}, ["公文标题不能为空"]),
        ({"title": "   "}, ["公文标题不能为空"]),
        ({"doc_kind": "press_release"}, ["公文种类“press_release”无效", "meeting_notice（会议通知）"]),
        ({"doc_kind": None}, ["公文种类“”无效"]),
        ({"body": " \n "}, ["公文正文不能为空"]),
        ({"recipients": []}, ["须列明主送单位或收件人"]),
        ({"recipients": None}, ["须列明主送单位或收件人"]),
        ({"recipients": [{"name": "医务科", "email": "yiwu-at-example"}]},
         ["第 1 位收件人须有姓名和有效邮箱", "医务科 / yiwu-at-example"]),
        ({"recipients": [{"name": "医务科", "email": "ok@qch.example"}, {"name": "", "email": "b@qch.example"}]},
         ["第 2 位收件人", "无姓名 / b@qch.example"]),
        ({"recipients": ["yiwu@qch.example"]}, ["第 1 位收件人", "无姓名 / 无邮箱"]),
    ],
)
def test_submitting_bad_content_is_refused_naming_the_fault(changes, expected):
    reasons = WORKFLOW.check(case_in("draft"), SECRETARY, Attempt("submit", changes=changes))
    reason = only_reason(reasons)
    assert reason.rule == "Y§18"
    for words in expected:
        assert words in reason.message


def test_a_title_over_the_limit_cites_the_national_standard():
    title = "关" * 101
    reason = only_reason(WORKFLOW.check(case_in("draft"), SECRETARY, Attempt("submit", changes={"title": title})))
    assert reason == Reason("GB/T 9704-2012 §7.3.1", "公文标题 101 字，超过 100 字上限")
    assert WORKFLOW.check(case_in("draft"), SECRETARY, Attempt("submit", changes={"title": "关" * 100})) == []


def test_every_content_fault_is_listed_when_submitting_with_changes():
    changes = {"title": "", "doc_kind": "memo", "recipients": [{"name": "医务科", "email": "bad"}]}
    reasons = WORKFLOW.check(case_in("draft"), SECRETARY, Attempt("submit", changes=changes))
    messages = [r.message for r in reasons]
    assert len(reasons) == 3, messages
    assert "公文标题不能为空" in messages[0]
    assert "公文种类“memo”无效" in messages[1]
    assert "第 1 位收件人" in messages[2]
    assert all(r.rule == "Y§18" for r in reasons)


def test_submitting_a_stored_draft_with_bad_content_lists_every_fault_in_one_reason():
    case = case_in("draft", title="", doc_kind="xx", recipients=[])
    reason = only_reason(WORKFLOW.check(case, SECRETARY, Attempt("submit")))
    assert reason.rule == "Y§18"
    assert reason.message.startswith("公文内容有误或不完整，不能提交：")
    for words in ("公文标题不能为空", "公文种类“xx”无效", "须列明主送单位或收件人"):
        assert words in reason.message


def test_an_edit_with_bad_content_is_refused_but_an_edit_fixing_it_is_not():
    case = case_in("draft", title="")
    bad = WORKFLOW.check(case, SECRETARY, Attempt("edit", changes={"recipients": []}))
    assert [r.message for r in bad] == ["公文标题不能为空", "须列明主送单位或收件人（至少一位，含姓名和邮箱）"]
    assert WORKFLOW.check(case, SECRETARY, Attempt("edit", changes={"title": "补上的标题"})) == []


def test_changes_fixing_a_broken_draft_let_it_be_submitted():
    case = case_in("draft", title="")
    assert WORKFLOW.check(case, SECRETARY, Attempt("submit", changes={"title": "补上的标题"})) == []


# --- choices and unknown steps -------------------------------------------------------------


@pytest.mark.parametrize(
    "state,actor,expected",
    [
        ("draft", SECRETARY, {"edit", "submit", "withdraw"}),
        ("draft", OTHER_SECRETARY, set()),
        ("draft", REVIEWER, set()),
        ("draft", DEPUTY, set()),
        ("submitted", REVIEWER, {"claim", "approve", "request_changes", "reject"}),
        ("submitted", SECRETARY, {"withdraw"}),
        ("submitted", LEADER, {"reject"}),
        ("in_review", REVIEWER, {"approve", "request_changes", "reject"}),
        ("changes_requested", SECRETARY, {"edit", "submit", "withdraw"}),
        ("changes_requested", REVIEWER, set()),
        ("awaiting_signoff", LEADER2, {"reject", "return_for_review", "sign"}),
        ("awaiting_signoff", REVIEWER, {"reject"}),
        ("awaiting_signoff", SECRETARY, set()),
        ("approved", LEADER, set()),
        ("approved", SYSTEM, set()),  # issue is automatic, never offered as a choice
        ("issued", SECRETARY, set()),
        ("issued", REVIEWER, set()),
        ("rejected", SECRETARY, set()),
        ("withdrawn", SECRETARY, set()),
    ],
    ids=lambda x: x.name if isinstance(x, Actor) else str(x),
)
def test_choices_offer_the_steps_this_actor_may_take_now(state, actor, expected):
    assert {t.trigger for t in WORKFLOW.choices(case_in(state), actor)} == expected


def test_choices_carry_the_labels_people_see():
    labels = {t.trigger: t.label for t in WORKFLOW.choices(case_in("submitted"), REVIEWER)}
    assert labels == {"claim": "开始审核", "approve": "审核通过", "request_changes": "退回修改", "reject": "不予发文"}


def test_choices_do_not_offer_steps_the_actor_is_certain_to_be_refused():
    not_drafter = WORKFLOW.choices(case_in("submitted", created_by=SECRETARY.person_id), DIRECTOR)
    approver = WORKFLOW.choices(
        case_in("awaiting_signoff", history=(PastEvent("approve", REVIEWER_LEADER.person_id, "awaiting_signoff"),)),
        REVIEWER_LEADER,
    )
    assert "withdraw" not in {t.trigger for t in not_drafter}
    assert "sign" not in {t.trigger for t in approver}


@pytest.mark.parametrize("trigger", ["publish", "Approve", "create"])
def test_an_unknown_step_is_refused_listing_the_steps_people_can_take(trigger):
    reason = only_reason(WORKFLOW.check(case_in("draft"), SECRETARY, Attempt(trigger)))
    assert reason.rule == ""
    assert f"公文没有名为“{trigger}”的操作" in reason.message
    for name, (label, _, _) in STEPS.items():
        assert (f"{name}（{label}）" in reason.message) == (name != "issue")  # issue is the system's
    with pytest.raises(Refused):
        WORKFLOW.next_state(case_in("draft"), SECRETARY, Attempt(trigger))


def test_no_decision_at_all_asks_to_choose_one():
    assert WORKFLOW.check(case_in("draft"), SECRETARY, Attempt("")) == [Reason("", "请选择一项决定")]


# --- creating ------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [SECRETARY, DIRECTOR])
def test_the_director_or_secretary_may_create_a_document_for_their_center(actor):
    assert WORKFLOW.check_create(actor, CARD) == []


@pytest.mark.parametrize("actor", [OTHER_SECRETARY, DEPUTY, REVIEWER, LEADER, NOBODY])
def test_no_one_else_may_create_a_document_for_the_center(actor):
    reason = only_reason(WORKFLOW.check_create(actor, CARD))
    assert reason.rule == "Y§18"
    assert "质控中心主任或质控中心秘书" in reason.message and f"{actor.name}没有此权限" in reason.message
