from __future__ import annotations

import pytest

from blaze_workbook import errors
from blaze_workbook.config import DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.redact import MASK, redact, redact_headers


def test_error_tree_branches():
    assert issubclass(errors.RateLimitedError, errors.RetryableError)
    assert issubclass(errors.AuthError, errors.ConfigurationError)
    assert issubclass(errors.DatabaseError, errors.ConfigurationError)
    for cls in (errors.RetryableError, errors.ConfigurationError, errors.InputDataError, errors.InvestigateError):
        assert issubclass(cls, errors.WorkbookError)


def test_error_messages_are_redacted(monkeypatch):
    monkeypatch.setenv("BLAZE_PARTNER_KEY", "pk-0123456789abcdef")
    err = errors.AuthError("refused key pk-0123456789abcdef")
    assert "pk-0123456789abcdef" not in str(err)
    assert MASK in str(err)


@pytest.mark.parametrize(
    "text",
    [
        "partner_key: s3cr3t-value",
        "x-api-key=s3cr3t-value&limit=1",
        "{'Authorization': 's3cr3t-value'}",
        "postgresql://user:s3cr3t-value@localhost/db",
    ],
)
def test_redact_masks_secret_shapes(text):
    assert "s3cr3t-value" not in redact(text, secrets=[])


def test_redact_headers():
    out = redact_headers([("x-api-key", "abc"), ("Authorization", "def"), ("Accept", "json")])
    assert out == {"x-api-key": MASK, "Authorization": MASK, "Accept": "json"}


def test_settings_demo_defaults_and_missing(monkeypatch):
    for name in ("BLAZE_BASE_URL", "BLAZE_PARTNER_KEY", "BLAZE_DEVELOPER_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = BlazeSettings.from_env(demo_base_url="http://127.0.0.1:1")
    assert settings.partner_key == DEMO_PARTNER_KEY
    assert DEMO_PARTNER_KEY not in repr(settings)
    with pytest.raises(errors.ConfigurationError, match="BLAZE_BASE_URL"):
        BlazeSettings.from_env()


def test_database_url_password_is_a_secret(monkeypatch):
    from blaze_workbook.redact import secret_values

    monkeypatch.setenv("DATABASE_URL", "postgresql://shop:pa%24%24word-42@db.internal:5432/crm")
    assert "pa$$word-42" in secret_values()
    assert "pa$$word-42" not in redact("connect failed with pa$$word-42")
