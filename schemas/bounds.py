"""What every value a client sends must satisfy beyond its type: the one place these rules live.

:class:`schemas.base.Input` runs :func:`check` after decoding, so every request
body and every sync mutation (JSON or MessagePack, API or phone) is held to
the same rules, and a phone can check a record before queueing it:

- a date or time is plausible: times from :data:`EARLIEST_TIME` to a day
  after now (a phone clock a little fast), dates from :data:`EARLIEST_DATE`
  to :data:`DATE_YEARS_AHEAD` years ahead (deadlines, planned dates). A year
  0001 would be stored as ``-infinity`` on PostgreSQL and break every month
  computed from it;
- no text holds a NUL character (PostgreSQL cannot store one in ``text``).

A refused value raises :class:`ValueError`, which msgspec reports as a
validation error naming the field. The server answers a date out of range
``422 date_out_of_range`` (see :func:`code_of`), anything else ``400 invalid_input``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

EARLIEST_DATE = dt.date(2000, 1, 1)
EARLIEST_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: How far ahead of the server's clock a time may be (a phone clock set a little fast).
TIME_AHEAD = dt.timedelta(days=1)
#: How many years ahead a date may be (a deadline, a planned check, a campaign's end).
DATE_YEARS_AHEAD = 5

#: Part of every out-of-range message, so the server can tell this refusal from other decode errors.
OUT_OF_RANGE = "超出合理范围"
NUL_CHARACTER = "含有空字符"


def date_problem(value: dt.date | dt.datetime) -> str | None:
    """Why ``value`` is not a plausible date or time, or None."""
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        if instant < EARLIEST_TIME or instant > dt.datetime.now(dt.UTC) + TIME_AHEAD:
            return f"时间{OUT_OF_RANGE}（{EARLIEST_TIME:%Y-%m-%d} 至当前时间后 1 天）"
        return None
    today = dt.date.today()
    latest = today.replace(year=today.year + DATE_YEARS_AHEAD, day=min(today.day, 28))
    if value < EARLIEST_DATE or value > latest:
        return f"日期{OUT_OF_RANGE}（{EARLIEST_DATE:%Y-%m-%d} 至 {latest:%Y-%m-%d}）"
    return None


#: Exact types no rule applies to, passed over without the checks below (a push decodes 10^4 ids at once).
#: (``Raw``: a push's mutations, each checked when it is decoded on its own.)
_INERT = frozenset({int, float, bool, type(None), uuid.UUID, type(msgspec.UNSET), msgspec.Raw})


def _problem(value: Any, path: str) -> tuple[str, str] | None:
    """(path, reason) of the first value under ``value`` that breaks a rule."""
    if value.__class__ in _INERT:
        return None
    if isinstance(value, str):
        return (path, NUL_CHARACTER) if "\x00" in value else None
    if isinstance(value, (dt.date, dt.datetime)):
        return (path, reason) if (reason := date_problem(value)) else None
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            if v.__class__ not in _INERT and (found := _problem(v, f"{path}[{i}]")):
                return found
        return None
    if isinstance(value, dict):
        return next((p for k, v in value.items() if (p := _problem(k, path) or _problem(v, f"{path}.{k}"))), None)
    if isinstance(value, msgspec.Struct) and not getattr(value, "__bounds_checked__", False):
        # A nested plain Struct (FiveInPlace) is checked with its Input; a nested Input has checked itself.
        return _fields(value, f"{path}.")
    return None


def _fields(struct: msgspec.Struct, prefix: str) -> tuple[str, str] | None:
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if value.__class__ not in _INERT and (found := _problem(value, prefix + name)):
            return found
    return None


def check(struct: msgspec.Struct) -> None:
    """Raise ValueError naming (in backquotes) the first field of ``struct`` that breaks a rule above."""
    if found := _fields(struct, ""):
        raise ValueError(f"`{found[0]}` {found[1]}")


def field_of(message: str) -> str | None:
    """The field a decode error message names: msgspec's path (``at `$.hazard```) joined to ours, if any."""
    struct = message.rsplit("at `$", 1)[1].split("`", 1)[0].lstrip(".") if "at `$" in message else ""
    own = message[1:].split("`", 1)[0] if message.startswith("`") else ""
    return ".".join(p for p in (struct, own) if p) or None


def code_of(message: str) -> Any:
    """The stable code (an ``ErrorCode``) of a decode error message: ``date_out_of_range`` for a date refused here."""
    from schemas.problems import ErrorCode  # problems.py is itself built on schemas.base

    return ErrorCode.DATE_OUT_OF_RANGE if OUT_OF_RANGE in message else ErrorCode.INVALID_INPUT
