"""The domain error tree, and the one place it becomes HTTP.

Domain code raises these; it never raises an HTTP exception or a bare
``Exception``. :func:`to_problem` maps every error to a :class:`Problem` body
with a stable :class:`ErrorCode`, a Chinese message for the person and an
English one for logs. The sync push uses the same classes to fill a rejected
outcome, so a phone sees the same code whether it called the API or synced.

    FieldcheckError                       500 internal
    ├── InvalidInput                      422 invalid_input (+ field)
    │   └── (codes: invalid_credit_code, invalid_id_number, unknown_reference)
    ├── NotAuthenticated                  401 not_authenticated / bad_credentials / token_expired
    ├── PermissionDenied                  403 forbidden
    ├── NotFound                          404 not_found
    ├── StateConflict                     409 state_conflict / duplicate / version_conflict
    │   └── (codes: evidence_pending, items_unanswered, prerequisite_missing)
    ├── PayloadTooLarge                   413 payload_too_large
    ├── UnsupportedMedia                  415 unsupported_media
    ├── RateLimited                       429 rate_limited (+ retry_after_s)
    └── Unavailable                       503 unavailable (retryable)

``retryable`` tells the sync client whether the same request may succeed
later unchanged (429, 503) or must come back to the person (everything else).
"""

from __future__ import annotations

from typing import ClassVar, Self

from schemas.problems import ErrorCode, FieldError, Problem, Refusal


class FieldcheckError(Exception):
    """Base of every error the domain raises on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[ErrorCode] = ErrorCode.INTERNAL
    default_message: ClassVar[tuple[str, str]] = ("系统内部错误，请稍后重试", "internal error")
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        message_en: str | None = None,
        *,
        code: ErrorCode | None = None,
        field: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        self.message = message or self.default_message[0]
        self.message_en = message_en or self.default_message[1]
        self.code = code or self.default_code
        self.field = field
        self.errors = errors or []
        super().__init__(f"{self.code}: {self.message_en}" + (f" (field {field})" if field else ""))

    @classmethod
    def of(cls, refusal: Refusal) -> Self:
        """The error for a refusal of a shared pure rule (``schemas/``), with its code, messages and field."""
        return cls(refusal.message, refusal.message_en, code=refusal.code, field=refusal.field,
                   errors=list(refusal.errors))


class InvalidInput(FieldcheckError):
    """Raised when a value is well-formed but not acceptable (bad check digit, unknown sector, …)."""

    status = 422
    default_code = ErrorCode.INVALID_INPUT
    default_message = ("输入有误，请检查后重新提交", "invalid input")


class NotAuthenticated(FieldcheckError):
    """Raised when the caller is unknown: no, expired or forged token; wrong password."""

    status = 401
    default_code = ErrorCode.NOT_AUTHENTICATED
    default_message = ("请先登录", "authentication required")


class PermissionDenied(FieldcheckError):
    """Raised when the caller is known but may not do this to this object."""

    status = 403
    default_code = ErrorCode.FORBIDDEN
    default_message = ("无权执行此操作", "not allowed")


class NotFound(FieldcheckError):
    """Raised when the object does not exist or the caller may not know that it does."""

    status = 404
    default_code = ErrorCode.NOT_FOUND
    default_message = ("记录不存在", "not found")


class StateConflict(FieldcheckError):
    """Raised when the object's current state forbids the change (closed hazard, signed check, …)."""

    status = 409
    default_code = ErrorCode.STATE_CONFLICT
    default_message = ("当前状态不允许此操作", "the current state does not allow this")


class PayloadTooLarge(FieldcheckError):
    """Raised when a body, file or batch is over its limit."""

    status = 413
    default_code = ErrorCode.PAYLOAD_TOO_LARGE
    default_message = ("提交内容过大", "payload too large")


class UnsupportedMedia(FieldcheckError):
    """Raised when uploaded bytes are not one of the allowed types (judged by content)."""

    status = 415
    default_code = ErrorCode.UNSUPPORTED_MEDIA
    default_message = ("不支持的文件类型", "unsupported media type")


class RateLimited(FieldcheckError):
    """Raised when the caller must wait before trying again."""

    status = 429
    default_code = ErrorCode.RATE_LIMITED
    default_message = ("操作过于频繁，请稍后再试", "too many attempts, try again later")
    retryable = True

    def __init__(self, *args: object, retry_after_s: int = 60, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class Unavailable(FieldcheckError):
    """Raised when a dependency (database, object store) is down; the same request may succeed later."""

    status = 503
    default_code = ErrorCode.UNAVAILABLE
    default_message = ("服务暂时不可用，请稍后重试", "service temporarily unavailable")
    retryable = True


def to_problem(error: FieldcheckError) -> Problem:
    """The response body for a domain error."""
    return Problem(
        status=error.status,
        code=error.code,
        message=error.message,
        message_en=error.message_en,
        field=error.field,
        errors=error.errors,
        retry_after_s=getattr(error, "retry_after_s", None),
    )
