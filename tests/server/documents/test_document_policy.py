"""The document rules alone (no I/O): prerequisites name what is missing, who issues and voids, the number's form."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from schemas.documents import DocumentStatus, DocumentType as T
from schemas.enforcement import ActionStatus
from schemas.vocab import EnforcementKind, InspectionStatus, Role
from server.documents import policy

TWO = (policy.Officer("张明远", "64050001"), policy.Officer("李卫东", "64050002"))
RECORD = (T.INSPECTION_RECORD, "inspection:1")
MONDAY = dt.date(2026, 11, 30)
#: The notice's party waived its 陈述申辩, recorded: the decision need not wait.
WAIVED = policy.StatementPeriod(served_on=MONDAY, today=MONDAY, hearing=False, closed=True)


def facts(**overrides) -> policy.Facts:
    base = policy.Facts(officers=TWO, inspection_status=InspectionStatus.SUBMITTED, source_key="inspection:1")
    return dataclasses.replace(base, **overrides)


def refused(doc_type: T, **overrides) -> str:
    refusal = policy.refusal(doc_type, facts(**overrides))
    assert refusal is not None, (doc_type, overrides)
    return refusal.message


def test_number_has_the_customary_form():
    assert policy.number("中卫", "罚", 2026, 15) == "（中卫）应急罚〔2026〕15号"


def test_both_penalty_decisions_share_one_series_and_every_other_type_has_its_own():
    series = [policy.SPECS[t].series for t in T]
    assert policy.SPECS[T.PENALTY_DECISION_UNIT].series == policy.SPECS[T.PENALTY_DECISION_PERSON].series
    assert len(set(series)) == len(series) - 1


def test_every_document_needs_two_certified_officers():
    for doc_type in T:
        assert "两名持执法证" in refused(doc_type, officers=(TWO[0], policy.Officer("李卫东", " ")))


def test_the_record_needs_a_signed_submitted_check_and_is_issued_once():
    assert "经签字提交的检查记录" in refused(T.INSPECTION_RECORD, inspection_status=InspectionStatus.IN_PROGRESS)
    assert policy.refusal(T.INSPECTION_RECORD, facts()) is None
    assert policy.refusal(T.INSPECTION_RECORD, facts(inspection_status=InspectionStatus.REVIEWED)) is None
    assert "已签发" in refused(T.INSPECTION_RECORD, live=frozenset({RECORD}))


def test_a_correction_names_a_live_document_of_the_same_type_and_source():
    live = frozenset({RECORD})
    ok = facts(live=live, supersedes=(T.INSPECTION_RECORD, "inspection:1", DocumentStatus.ISSUED))
    assert policy.refusal(T.INSPECTION_RECORD, ok) is None
    assert "种类和事项相同" in refused(T.INSPECTION_RECORD, live=live,
                                  supersedes=(T.RECTIFICATION_ORDER, "inspection:1", DocumentStatus.ISSUED))
    assert "已作废或已被更正" in refused(T.INSPECTION_RECORD, supersedes=(T.INSPECTION_RECORD, "inspection:1",
                                                                   DocumentStatus.VOIDED))


def test_the_rectification_order_needs_the_record_and_an_open_hazard_with_a_deadline():
    assert "已签发的现场检查记录" in refused(T.RECTIFICATION_ORDER, open_hazards_with_deadline=1)
    assert "有整改期限的隐患" in refused(T.RECTIFICATION_ORDER, live=frozenset({RECORD}))
    assert policy.refusal(T.RECTIFICATION_ORDER, facts(live=frozenset({RECORD}), open_hazards_with_deadline=1)) is None


def test_the_recheck_opinion_needs_an_order_or_measures_and_the_recheck_result():
    key = "recheck:9"
    assert "责令限期整改指令书或现场处理措施决定书" in refused(T.RECHECK_OPINION, source_key=key, recheck_recorded=True,
                                                   live=frozenset({RECORD}))
    for prior in (T.RECTIFICATION_ORDER, T.ON_SITE_MEASURES):
        live = frozenset({RECORD, (prior, "x")})
        assert "复查结果" in refused(T.RECHECK_OPINION, source_key=key, live=live)
        assert policy.refusal(T.RECHECK_OPINION, facts(source_key=key, live=live, recheck_recorded=True)) is None


def _action(kind: EnforcementKind, status: ActionStatus = ActionStatus.IN_EFFECT, **more) -> dict:
    return {"live": frozenset({RECORD}), "action_kind": kind, "action_status": status, "source_key": "action:1/party:unit", **more}


def test_measures_penalties_and_transfers_need_the_record_and_their_action_in_effect():
    cases = [(T.ON_SITE_MEASURES, EnforcementKind.SUSPENSION), (T.PENALTY_NOTICE, EnforcementKind.FINE),
             (T.CASE_TRANSFER, EnforcementKind.JUDICIAL_TRANSFER)]
    for doc_type, kind in cases:
        ready = _action(kind, receiving_agency="中卫市公安局")
        assert policy.refusal(doc_type, facts(**ready)) is None, doc_type
        assert "已签发的现场检查记录" in refused(doc_type, **{**ready, "live": frozenset()})
        for status in (ActionStatus.PROPOSED, ActionStatus.AWAITING_REVIEW, ActionStatus.REJECTED):
            assert "已生效" in refused(doc_type, **{**ready, "action_status": status}), (doc_type, status)
        assert "不是" in refused(doc_type, **{**ready, "action_kind": EnforcementKind.ADMONITION})
    assert "接收移送的机关" in refused(T.CASE_TRANSFER, **_action(EnforcementKind.JUDICIAL_TRANSFER))
    assert policy.refusal(T.CASE_TRANSFER, facts(**_action(EnforcementKind.JUDICIAL_TRANSFER, ActionStatus.TRANSFERRED,
                                                           receiving_agency="中卫市公安局"))) is None


def test_a_penalty_decision_needs_the_notice_to_the_same_party():
    unit = _action(EnforcementKind.FINE)
    assert "行政处罚告知书" in refused(T.PENALTY_DECISION_UNIT, **unit)
    other_party = frozenset({RECORD, (T.PENALTY_NOTICE, "action:1/party:person:7")})
    assert "行政处罚告知书" in refused(T.PENALTY_DECISION_UNIT, **{**unit, "live": other_party})
    noticed = frozenset({RECORD, (T.PENALTY_NOTICE, "action:1/party:unit")})
    assert policy.refusal(T.PENALTY_DECISION_UNIT, facts(**{**unit, "live": noticed, "statement": WAIVED})) is None
    person = _action(EnforcementKind.FINE, source_key="action:1/party:person:7", live=other_party,
                     party_person=True, person_in_case=True, statement=WAIVED)
    assert policy.refusal(T.PENALTY_DECISION_PERSON, facts(**person)) is None
    assert "被处罚人" in refused(T.PENALTY_DECISION_PERSON, **{**person, "party_person": False})
    assert "不指定个人" in refused(T.PENALTY_DECISION_UNIT, **person)
    assert "不属于本案" in refused(T.PENALTY_NOTICE, **{**person, "person_in_case": False, "live": frozenset({RECORD})})


def test_working_days_skip_weekends_and_holidays_and_count_the_days_worked_in_their_place():
    assert policy.add_working_days(MONDAY, 3, policy.Calendar()) == dt.date(2026, 12, 3)  # Thursday
    friday = dt.date(2026, 12, 4)
    assert policy.add_working_days(friday, 3, policy.Calendar()) == dt.date(2026, 12, 9)  # over the weekend
    holiday = policy.Calendar(holidays=frozenset({dt.date(2026, 12, 1)}))
    assert policy.add_working_days(MONDAY, 3, holiday) == dt.date(2026, 12, 4)
    worked = policy.Calendar(working_weekend_days=frozenset({dt.date(2026, 12, 5)}))
    assert policy.add_working_days(friday, 1, worked) == dt.date(2026, 12, 5)


def test_a_decision_waits_out_the_statement_period_unless_waived_or_heard():
    unit = _action(EnforcementKind.FINE, live=frozenset({RECORD, (T.PENALTY_NOTICE, "action:1/party:unit")}))
    waiting = policy.StatementPeriod(served_on=MONDAY, today=dt.date(2026, 12, 3), hearing=False, closed=False)
    refusal = policy.refusal(T.PENALTY_DECISION_UNIT, facts(**unit, statement=waiting))
    assert refusal is not None and refusal.code == "prerequisite_missing"
    assert "陈述申辩" in refusal.message and "2026年12月4日起方可作出决定" in refusal.message
    assert policy.refusal(T.PENALTY_DECISION_UNIT, facts(**unit, statement=dataclasses.replace(waiting, today=dt.date(2026, 12, 4)))) is None
    assert policy.refusal(T.PENALTY_DECISION_UNIT, facts(**unit, statement=dataclasses.replace(waiting, closed=True))) is None
    # a fine large enough for a hearing: 5 working days, the weekend not counted
    hearing = dataclasses.replace(waiting, hearing=True, today=dt.date(2026, 12, 7))
    assert "2026年12月8日起" in refused(T.PENALTY_DECISION_UNIT, **unit, statement=hearing)
    assert "听证" in refused(T.PENALTY_DECISION_UNIT, **unit, statement=hearing)
    assert policy.hearing_right(50_000, person=False) and not policy.hearing_right(49_999, person=False)
    assert policy.hearing_right(10_000, person=True)


def test_the_party_s_statement_is_recorded_by_the_case_s_officers_or_its_supervisor():
    assert policy.may_record_statement(Role.SUPERVISOR, on_team=False, manages_department=True)
    assert policy.may_record_statement(Role.INSPECTOR, on_team=True, manages_department=False)
    assert not policy.may_record_statement(Role.INSPECTOR, on_team=False, manages_department=False)
    for role in (Role.LEADER, Role.ADMIN, Role.LEGAL_REVIEWER):
        assert not policy.may_record_statement(role, on_team=True, manages_department=True)


@pytest.mark.parametrize("doc_type", list(T))
def test_who_issues(doc_type):
    on_site = policy.SPECS[doc_type].on_site
    assert policy.may_issue(doc_type, Role.SUPERVISOR, on_team=False, manages_department=True)
    assert not policy.may_issue(doc_type, Role.SUPERVISOR, on_team=True, manages_department=False)
    assert policy.may_issue(doc_type, Role.INSPECTOR, on_team=True, manages_department=False) is on_site
    assert not policy.may_issue(doc_type, Role.INSPECTOR, on_team=False, manages_department=False)
    for role in (Role.LEADER, Role.ADMIN, Role.LEGAL_REVIEWER):
        assert not policy.may_issue(doc_type, role, on_team=True, manages_department=True)


def test_on_site_documents_are_the_inspection_record_order_and_measures():
    assert {t for t in T if policy.SPECS[t].on_site} == {T.INSPECTION_RECORD, T.RECTIFICATION_ORDER, T.ON_SITE_MEASURES}


def test_only_a_supervisor_of_the_department_voids():
    assert policy.may_void(Role.SUPERVISOR, manages_department=True)
    assert not policy.may_void(Role.SUPERVISOR, manages_department=False)
    for role in (Role.INSPECTOR, Role.LEADER, Role.ADMIN, Role.LEGAL_REVIEWER):
        assert not policy.may_void(role, manages_department=True)
