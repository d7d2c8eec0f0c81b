"""The error vocabulary: every code has a status and a message, and one shape goes out."""

from __future__ import annotations

import pytest

from peerlane import errors
from peerlane.errors import (
    DEFAULT_MESSAGE,
    HTTP_STATUS,
    AuthError,
    ConfigError,
    ConflictError,
    ErrorCode,
    ForbiddenError,
    GoneError,
    LimitError,
    NotFoundError,
    PeerlaneError,
    ProtocolError,
    error_body,
)


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_every_code_has_a_status_and_a_message(code: ErrorCode) -> None:
    assert 400 <= HTTP_STATUS[code] <= 599
    message = DEFAULT_MESSAGE[code]
    assert message.strip() == message
    assert message[0].isupper()
    assert message.endswith(".")


def test_tables_have_no_stray_entries() -> None:
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert set(DEFAULT_MESSAGE) == set(ErrorCode)


def test_codes_are_snake_case() -> None:
    for code in ErrorCode:
        assert code.value == code.name.lower()


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [
        (PeerlaneError, ErrorCode.INTERNAL_ERROR, 500),
        (ProtocolError, ErrorCode.INVALID_MESSAGE, 422),
        (AuthError, ErrorCode.UNAUTHORIZED, 401),
        (ForbiddenError, ErrorCode.FORBIDDEN, 403),
        (NotFoundError, ErrorCode.NOT_FOUND, 404),
        (ConflictError, ErrorCode.DUPLICATE_ID, 409),
        (GoneError, ErrorCode.INVITE_EXPIRED, 410),
        (LimitError, ErrorCode.RATE_LIMITED, 429),
        (ConfigError, ErrorCode.BAD_REQUEST, 400),
    ],
)
def test_defaults_per_class(cls: type[PeerlaneError], code: ErrorCode, status: int) -> None:
    exc = cls()
    assert isinstance(exc, PeerlaneError)
    assert exc.code is code
    assert exc.http_status == status
    assert exc.message == DEFAULT_MESSAGE[code]
    assert str(exc) == exc.message
    assert exc.retry_after is None


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_to_dict_shape(code: ErrorCode) -> None:
    body = PeerlaneError(code).to_dict()
    assert body == {"error": {"code": code.value, "message": DEFAULT_MESSAGE[code]}}
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str)
    assert body == error_body(code)


def test_custom_message_and_retry_after() -> None:
    exc = LimitError(ErrorCode.TOO_MANY_ROOMS, "Wait a minute.", retry_after=60.0)
    assert exc.to_dict() == {"error": {"code": "too_many_rooms", "message": "Wait a minute."}}
    assert exc.retry_after == 60.0
    assert exc.http_status == 429
    assert error_body(ErrorCode.NOT_OWNER, "Ask Alice.")["error"]["message"] == "Ask Alice."


def test_every_error_class_is_documented_in_the_tree() -> None:
    assert errors.__doc__ is not None
    for cls in PeerlaneError.__subclasses__():
        assert cls.__name__ in errors.__doc__
