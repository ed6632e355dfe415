"""The error body every endpoint returns, and the stable codes clients branch on.

A phone decides what to do from ``code`` alone: the codes never change meaning
and are never reused. ``message`` is Chinese for the person holding the phone,
``message_en`` is for logs and foreign readers; neither is parsed by code.
"""

from __future__ import annotations

import enum

import msgspec

from schemas.base import Struct


class ErrorCode(enum.StrEnum):
    """Stable error codes. Add new members at the end of their group; never rename."""

    # 400/422: the request itself is wrong
    INVALID_INPUT = "invalid_input"
    INVALID_CREDIT_CODE = "invalid_credit_code"
    INVALID_ID_NUMBER = "invalid_id_number"
    UNKNOWN_REFERENCE = "unknown_reference"
    EVIDENCE_HASH_MISMATCH = "evidence_hash_mismatch"
    EVIDENCE_CHUNK_MISMATCH = "evidence_chunk_mismatch"
    WEAK_PASSWORD = "weak_password"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    # 401: who are you
    NOT_AUTHENTICATED = "not_authenticated"
    TOKEN_EXPIRED = "token_expired"
    BAD_CREDENTIALS = "bad_credentials"
    # 403: you may not
    FORBIDDEN = "forbidden"
    # 404
    NOT_FOUND = "not_found"
    # 409: the state of things does not allow it
    STATE_CONFLICT = "state_conflict"
    DUPLICATE = "duplicate"
    VERSION_CONFLICT = "version_conflict"
    EVIDENCE_PENDING = "evidence_pending"
    ITEMS_UNANSWERED = "items_unanswered"
    PREREQUISITE_MISSING = "prerequisite_missing"
    # 413 / 415
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA = "unsupported_media"
    IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
    # 429 / 503
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    STATS_MONTH_UNAVAILABLE = "stats_month_unavailable"
    # 500
    INTERNAL = "internal"


class FieldError(Struct, kw_only=True):
    """One field that failed validation, named by its path in the body (``items[2].text``)."""

    field: str
    message: str


class Problem(Struct, kw_only=True):
    """The body of every error response (shaped after RFC 9457 problem details)."""

    status: int
    code: ErrorCode
    message: str
    message_en: str
    field: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)
    retry_after_s: int | None = None


class Refusal(Struct, kw_only=True, frozen=True):
    """Why a pure rule of ``schemas/`` refuses a value: what the server answers, and what a phone tells the
    person before queueing, from the same function (``InvalidInput.of`` / ``StateConflict.of`` on the server)."""

    field: str
    message: str
    message_en: str
    code: ErrorCode = ErrorCode.INVALID_INPUT
    errors: list[FieldError] = msgspec.field(default_factory=list)
