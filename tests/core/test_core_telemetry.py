"""Connection reports: only enums and bounded numbers get through."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from peerlane.core.telemetry import Report, error_kind


def test_error_kinds_are_known_names_or_other() -> None:
    assert error_kind("TypeError") == "TypeError"
    assert error_kind("SomeoneElsesSecret") == "other"


def test_a_report_with_text_where_enums_go_is_refused() -> None:
    Report.model_validate(
        {"client": "cli", "attempts": [{"outcome": "failed", "reason": "timeout"}]}
    )
    with pytest.raises(ValidationError):
        Report.model_validate({"client": "cli", "attempts": [{"outcome": "failed", "reason": "x"}]})
    with pytest.raises(ValidationError):
        Report.model_validate({"client": "cli", "errors": [{"kind": "Error: secret text"}]})
