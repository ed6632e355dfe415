"""The phone's pre-queue checks are the server's rules: same function, same field, code and message (no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from schemas.enforcement import EnforcementProposal
from schemas.hazards import FiveInPlace, HazardCreate
from schemas.identifiers import credit_code_check_char
from server.enforcement import policy as enforcement_policy
from server.errors import InvalidInput
from server.hazards import policy as hazard_policy
from server.registry import service as registry_service
from server.violations import policy as violation_policy
from sync_client import InvalidRecord, check_credit_code, check_id_number
from sync_client import _checks as checks

TODAY = dt.date(2026, 12, 3)
GOOD_ID = "11010519491231002X"
GOOD_CODE = "91640500" + "MA76QW3B1"
GOOD_CODE += credit_code_check_char(GOOD_CODE)


def same_verdict(server_call, phone_call) -> InvalidRecord:
    with pytest.raises(InvalidInput) as server:
        server_call()
    with pytest.raises(InvalidRecord) as phone:
        phone_call()
    s, p = server.value, phone.value
    assert (p.field, p.code, p.message, p.message_en) == (s.field, str(s.code), s.message, s.message_en)
    return p


def test_id_numbers_are_checked_and_normalised_as_the_server_does():
    assert check_id_number(" 110105 19491231002x") == GOOD_ID
    for bad in (GOOD_ID[:-1] + "1", "110105194902300021", "1101051949", ""):
        refused = same_verdict(lambda b=bad: violation_policy.check_id_number(b), lambda b=bad: check_id_number(b))
        assert refused.field == "id_number" and refused.code == "invalid_id_number" and "GB 11643" in refused.message


def test_credit_codes_are_checked_as_the_registry_does():
    assert check_credit_code(GOOD_CODE.lower()) == GOOD_CODE
    bad = GOOD_CODE[:-1] + ("0" if GOOD_CODE[-1] != "0" else "1")
    refused = same_verdict(lambda: registry_service._checked_credit_code(bad), lambda: check_credit_code(bad))
    assert (refused.field, refused.code) == ("credit_code", "invalid_credit_code")


def _hazard(level: str, five: FiveInPlace | None, deadline: dt.date = TODAY + dt.timedelta(days=10)) -> HazardCreate:
    return checks.build(HazardCreate, id=uuid.uuid4(), inspection_id=uuid.uuid4(), level=level, description="x",
                        deadline_date=deadline, checklist_item_id=uuid.uuid4(), five_in_place=five)


@pytest.mark.parametrize(("five", "field"), [
    (None, "five_in_place"),
    (FiveInPlace(responsible_person=" ", measures="m", funds_yuan=0, deadline_date=TODAY, contingency_plan="p"),
     "five_in_place.responsible_person"),
    (FiveInPlace(responsible_person="r", measures="m", funds_yuan=0, deadline_date=TODAY + dt.timedelta(days=11),
                 contingency_plan="p"), "five_in_place.deadline_date"),
])
def test_a_major_hazard_needs_its_five_in_place_on_the_phone_as_on_the_server(five, field):
    hazard = _hazard("major", five)
    refused = same_verdict(
        lambda: hazard_policy.open_hazard(level=hazard.level, deadline_date=hazard.deadline_date, found_date=TODAY,
                                          five_in_place=hazard.five_in_place, item_is_major=True),
        lambda: checks.check_hazard(hazard, found_date=TODAY, item={"is_major_criterion": True}),
    )
    assert refused.field == field


def test_the_level_must_match_the_cited_item_and_an_item_unknown_here_is_left_to_the_server():
    five = FiveInPlace(responsible_person="r", measures="m", funds_yuan=0, deadline_date=TODAY, contingency_plan="p")
    checks.check_hazard(_hazard("major", five), found_date=TODAY, item={"is_major_criterion": True})
    checks.check_hazard(_hazard("general", None), found_date=TODAY, item=None)  # item not on the phone
    hazard = _hazard("general", None)
    refused = same_verdict(
        lambda: hazard_policy.open_hazard(level=hazard.level, deadline_date=hazard.deadline_date, found_date=TODAY,
                                          five_in_place=None, item_is_major=True),
        lambda: checks.check_hazard(hazard, found_date=TODAY, item={"is_major_criterion": True}),
    )
    assert refused.field == "level"


def test_enforcement_proposals_need_the_fields_of_their_kind():
    fine = EnforcementProposal(id=uuid.uuid4(), kind="fine", reason="r", inspection_id=uuid.uuid4())
    fine = checks.build(EnforcementProposal, **{f: getattr(fine, f) for f in fine.__struct_fields__})
    refused = same_verdict(lambda: enforcement_policy.check_proposal(fine), lambda: checks.check_proposal(fine))
    assert refused.field == "amount_yuan"


def test_shapes_are_checked_as_the_server_decodes_them_naming_the_field():
    with pytest.raises(InvalidRecord) as refused:
        checks.build(HazardCreate, id=uuid.uuid4(), inspection_id=uuid.uuid4(), level="major", description="x",
                     deadline_date=TODAY, five_in_place={"responsible_person": "r", "measures": "m", "funds_yuan": -1,
                                                         "deadline_date": TODAY, "contingency_plan": "p"})
    assert refused.value.field == "five_in_place.funds_yuan" and "five_in_place.funds_yuan" in refused.value.message


def test_signing_needs_every_item_answered():
    template = {"items": [{"id": i, "code": f"YB-{n}", "text": f"检查项{n}", "position": n} for n, i in enumerate("abc")]}
    checks.check_all_answered(template, [{"item_id": i, "outcome": "not_applicable"} for i in "abc"])
    checks.check_all_answered(None, [])  # no checklist on the phone: the server judges
    with pytest.raises(InvalidRecord) as refused:
        checks.check_all_answered(template, [{"item_id": "a", "outcome": "fail"}, {"item_id": "b", "note": "x"}])
    assert (refused.value.field, refused.value.code) == ("items", "items_unanswered")
    assert "2 个检查项" in refused.value.message and "YB-1 检查项1、YB-2 检查项2" in refused.value.message


def test_an_item_result_sets_something_and_the_first_one_has_an_outcome():
    from schemas.inspections import item_result_refusal

    assert item_result_refusal({"note"}, first=False) is None and item_result_refusal({"outcome"}, first=True) is None
    assert item_result_refusal({"note"}, first=True).field == "outcome"
    assert item_result_refusal(set(), first=False).message == "没有要记录的内容"
