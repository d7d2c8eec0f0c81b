"""Secrets at rest and in errors (issue #9, finding 8), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from peerlane.storage.engine import make_engine


async def test_a_database_error_does_not_print_its_parameters(store_url: str):
    """A failing statement's parameters (an invite token, say) must not reach the
    exception text, which ends up in tracebacks and logs."""
    secret = "tok-3f9a1c7e5b2d4a6f8e0c"
    engine = make_engine(store_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as raised:
                await conn.execute(
                    text("SELECT token FROM no_such_table WHERE token = :t"), {"t": secret}
                )
    finally:
        await engine.dispose()
    assert secret not in str(raised.value)
    assert "hidden" in str(raised.value).lower()
