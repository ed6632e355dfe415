"""web/app/rules.js against the shared Python rules (schemas/) on the same inputs, in chromium.

The phone refuses a mistyped ID number, a hazard without its 五落实 or a submit with unanswered items before
anything is queued; the server refuses the same with the same functions. This test runs both on thousands of
inputs and fails on any difference of verdict, field or sentence.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from schemas.hazards import FiveInPlace, deadline_refusal, five_in_place_refusal, level_refusal
from schemas.identifiers import id_number_check_char, is_valid_id_number, mask_id_number
from schemas.inspections import unanswered_refusal
from schemas.vocab import HazardLevel
from tests.phone_app.conftest import new_phone

pytestmark = pytest.mark.browser


def _id_numbers(rng: random.Random, n: int) -> list[str]:
    numbers = []
    for _ in range(n):
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(33000))
        body = f"{rng.randrange(110000, 660000)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        right = body + id_number_check_char(body)
        pick = rng.randrange(8)
        if pick == 0:
            numbers.append(right)
        elif pick == 1:  # one digit mistyped
            k = rng.randrange(18)
            numbers.append(right[:k] + str((int(right[k]) + 1) % 10 if right[k].isdigit() else 1) + right[k + 1:])
        elif pick == 2:  # an impossible birth date with a right check digit
            bad = f"{body[:6]}{born.year}0230{body[14:]}"
            numbers.append(bad + id_number_check_char(bad))
        elif pick == 3:
            numbers.append(right.lower() if right.endswith("X") else " " + right + " ")
        elif pick == 4:
            numbers.append(right[: rng.randrange(19)])
        elif pick == 5:
            numbers.append(right[:17] + rng.choice("0123456789Xx"))
        elif pick == 6:
            numbers.append(right[:6] + "  " + right[6:])
        else:
            numbers.append("".join(rng.choice("0123456789X ") for _ in range(rng.randrange(22))))
    return numbers


def _python_hazard(h: dict, item: dict | None, today: dt.date) -> str | None:
    deadline = dt.date.fromisoformat(h["deadline_date"])
    refusal = deadline_refusal(deadline, today)
    if refusal is None and (item is not None or h.get("checklist_item_id") is None):
        refusal = level_refusal(HazardLevel(h["level"]), bool(item["is_major_criterion"]) if item is not None else None)
    if refusal is None and h["level"] == "major":
        five = h.get("five_in_place")
        refusal = five_in_place_refusal(None if five is None else FiveInPlace(
            **{**five, "deadline_date": dt.date.fromisoformat(five["deadline_date"])}), deadline)
    return None if refusal is None else f"{refusal.field}|{refusal.message}"


def _hazards(rng: random.Random, n: int, today: dt.date) -> list[tuple[dict, dict | None]]:
    cases = []
    for _ in range(n):
        deadline = today + dt.timedelta(days=rng.randrange(-3, 30))
        h: dict = {"level": rng.choice(["general", "major"]), "deadline_date": deadline.isoformat()}
        item = rng.choice([None, {"id": "i", "is_major_criterion": True}, {"id": "i", "is_major_criterion": True},
                           {"id": "i", "is_major_criterion": False}])
        if item is not None or rng.random() < 0.3:
            h["checklist_item_id"] = "i"
        if rng.random() < 0.8:
            h["five_in_place"] = {
                "responsible_person": rng.choice(["", " ", "王厂长", "王厂长"]), "measures": rng.choice(["", "停产整改", "停产整改"]),
                "funds_yuan": rng.randrange(100000), "contingency_plan": rng.choice([" ", "预案", "预案"]),
                "deadline_date": (deadline + dt.timedelta(days=rng.randrange(-5, 3))).isoformat()}
        cases.append((h, item))
    return cases


async def test_rules_js_agrees_with_the_python_rules(served, browser):
    rng = random.Random(12)
    context = await new_phone(browser)
    page = await context.new_page()
    await page.goto(f"{served}/app/")
    await page.wait_for_function("window.FC && FC.app && FC.app.ready")
    messages = await page.evaluate("fetch('/app/vocab.json').then(r => r.json()).then(v => v.messages)")

    numbers = _id_numbers(rng, 3000)
    verdicts = await page.evaluate("ns => ns.map(n => [FC.rules.isValidIdNumber(n), FC.rules.maskIdNumber(n)])", numbers)
    assert sum(v for v, _ in verdicts) > 300  # enough valid ones to mean something
    for number, (valid, masked) in zip(numbers, verdicts, strict=True):
        assert valid == is_valid_id_number(number), number
        assert masked == mask_id_number(number), number

    today = dt.date(2026, 6, 15)
    cases = _hazards(rng, 3000, today)
    answers = await page.evaluate(
        "([cases, today, m]) => cases.map(([h, item]) => { const r = FC.rules.hazardRefusal(h, item, today);"
        " return r ? r.field + '|' + m[r.key] : null; })", [cases, today.isoformat(), messages])
    assert sum(a is None for a in answers) > 50 and sum(a is not None for a in answers) > 50
    assert sum(1 for a in answers if a and a.startswith("five_in_place.deadline_date")) > 10  # each rule is reached
    for (h, item), answer in zip(cases, answers, strict=True):
        assert answer == _python_hazard(h, item, today), json.dumps([h, item], ensure_ascii=False)

    items = [{"id": f"i{k}", "code": f"YB-{k}", "text": f"检查项{k}", "position": k} for k in range(14)]
    for _ in range(40):
        answered = rng.sample([i["id"] for i in items], rng.randrange(len(items) + 1))
        results = [{"item_id": i, "outcome": "pass"} for i in answered]
        phone = await page.evaluate(
            "([items, results, t]) => { const m = FC.rules.unanswered(items, results);"
            " return m.length ? FC.rules.unansweredMessage(t, m) : null; }", [items, results, messages["items_unanswered"]])
        server = unanswered_refusal(items, answered)
        assert phone == (None if server is None else server.message)
    await context.close()
