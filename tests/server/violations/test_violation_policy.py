"""ID-number checks, keyed hash and sealing of the 三违 register, without I/O."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.identifiers import id_number_check_char
from schemas.problems import ErrorCode
from server.errors import InvalidInput, StateConflict
from server.violations import policy

SECRET = "test-secret-for-id-numbers"


@st.composite
def id_numbers(draw):
    region = draw(st.sampled_from(["640502", "640521", "640522", "110101"]))
    born = draw(st.dates(dt.date(1940, 1, 1), dt.date(2008, 12, 31)))
    serial = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{serial:03d}"
    return first17 + id_number_check_char(first17)


@given(id_numbers())
def test_valid_numbers_pass_and_normalise(number):
    spaced = " " + number.lower()[:9] + " " + number.lower()[9:] + " "
    assert policy.check_id_number(spaced) == number
    assert policy.person_key(SECRET, spaced) == policy.person_key(SECRET, number)


@given(id_numbers(), st.integers(0, 17), st.integers(1, 10))
def test_any_single_character_change_is_refused(number, position, shift):
    alphabet = "0123456789X" if position == 17 else "0123456789"
    changed_char = alphabet[(alphabet.index(number[position]) + shift) % len(alphabet)]
    if changed_char == number[position]:
        return
    changed = number[:position] + changed_char + number[position + 1 :]
    with pytest.raises(InvalidInput) as caught:
        policy.check_id_number(changed)
    assert caught.value.field == "id_number" and caught.value.code is ErrorCode.INVALID_ID_NUMBER


@pytest.mark.parametrize("bad", ["", "64050219900101123", "6405021990010112345", "640502199002301234", "ABCDEFGHIJKLMNOPQR"])
def test_malformed_numbers_are_refused(bad):
    with pytest.raises(InvalidInput):
        policy.check_id_number(bad)


@given(id_numbers(), id_numbers())
def test_person_key_matches_exactly_the_same_number(a, b):
    assert (policy.person_key(SECRET, a) == policy.person_key(SECRET, b)) == (a == b)
    # Another deployment's key gives another pseudonym: the hash is keyed.
    assert policy.person_key(SECRET, a) != policy.person_key(SECRET + "x", a)


@given(id_numbers())
def test_mask_hides_birth_date_and_serial(number):
    shown = policy.masked(number)
    assert len(shown) == 18 and shown[:6] == number[:6] and shown[-1] == number[-1]
    assert set(shown[6:17]) == {"*"}


@given(id_numbers())
def test_seal_round_trips_and_is_bound_to_its_person(number):
    key = policy.person_key(SECRET, number)
    sealed = policy.seal(SECRET, number, key)
    assert number not in sealed
    assert policy.unseal(SECRET, sealed, key) == number
    with pytest.raises(StateConflict):
        policy.unseal(SECRET, sealed, "0" * 64)
    with pytest.raises(StateConflict):
        policy.unseal(SECRET + "x", sealed, key)


def test_missing_secret_is_a_configuration_error():
    with pytest.raises(ValueError):
        policy.person_key("", "11010119900307757X")
