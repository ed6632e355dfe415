"""一公开 wording: a published result says only what the check's records hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.spotchecks.policy import CheckFindings, public_outcome


def findings(**values: int) -> CheckFindings:
    base = dict(unanswered_items=0, general_hazards=0, major_hazards=0, hazards_with_deadline=0, hazards_closed=0,
                rectification_orders=0)
    return CheckFindings(**(base | values))


def test_no_hazard_is_said_only_of_a_fully_answered_check() -> None:
    assert public_outcome(findings()) == "未发现隐患"
    assert public_outcome(findings(unanswered_items=18)) == "检查项未全部完成（18项未填写），暂无结论"


def test_an_order_is_claimed_only_when_one_is_on_record() -> None:
    assert public_outcome(findings(general_hazards=2, major_hazards=1, hazards_with_deadline=3)) == (
        "发现一般隐患2项、重大隐患1项，已责令整改"
    )
    assert public_outcome(findings(general_hazards=2, hazards_with_deadline=1)) == "发现一般隐患2项、重大隐患0项"
    assert public_outcome(findings(general_hazards=2, rectification_orders=1)) == "发现一般隐患2项、重大隐患0项，已责令整改"
    assert public_outcome(findings(major_hazards=1, hazards_with_deadline=1, hazards_closed=1)) == (
        "发现一般隐患0项、重大隐患1项，已整改销号"
    )


@given(
    unanswered=st.integers(0, 30), general=st.integers(0, 5), major=st.integers(0, 5),
    deadlines=st.integers(0, 10), closed=st.integers(0, 10), orders=st.integers(0, 2),
)
def test_every_claim_has_its_record(unanswered: int, general: int, major: int, deadlines: int, closed: int, orders: int) -> None:
    hazards = general + major
    f = CheckFindings(unanswered_items=unanswered, general_hazards=general, major_hazards=major,
                      hazards_with_deadline=min(deadlines, hazards), hazards_closed=min(closed, hazards),
                      rectification_orders=orders)
    text = public_outcome(f)
    if "未发现隐患" in text:
        assert hazards == 0 and unanswered == 0
    if "已责令整改" in text:
        assert orders > 0 or f.hazards_with_deadline == hazards > 0
    if "已整改销号" in text:
        assert f.hazards_closed == hazards > 0
