"""Configuration from the environment (and a ``.env`` file in the working directory).

Secrets are read here and nowhere else; they never become notebook parameters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigurationError
from .redact import register_secret

#: keys the simulator accepts by default, and that ``demo`` uses; not secrets of any real shop
DEMO_PARTNER_KEY = "demo-partner-key"
DEMO_DEVELOPER_KEY = "demo-developer-key"

_dotenv_loaded = False


def load_dotenv_once(path: Path | None = None) -> None:
    """Read ``.env`` from the working directory once; real environment variables win."""
    global _dotenv_loaded
    if _dotenv_loaded:
        return
    from dotenv import load_dotenv

    load_dotenv(path or Path.cwd() / ".env", override=False)
    _dotenv_loaded = True


def workbook_home() -> Path:
    """``BLAZE_WORKBOOK_HOME`` or ``.workbook/`` in the working directory, created on demand."""
    load_dotenv_once()
    home = Path(os.environ.get("BLAZE_WORKBOOK_HOME") or Path.cwd() / ".workbook").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


@dataclass(frozen=True)
class BlazeSettings:
    """Where the API is and the two keys it wants. ``repr`` never shows the keys."""

    base_url: str
    partner_key: str = field(repr=False)
    developer_key: str = field(repr=False)

    @classmethod
    def from_env(cls, *, demo_base_url: str | None = None) -> BlazeSettings:
        """Read the settings; ``demo_base_url`` (the local simulator) allows the demo defaults."""
        load_dotenv_once()
        base_url = os.environ.get("BLAZE_BASE_URL") or demo_base_url
        partner = os.environ.get("BLAZE_PARTNER_KEY") or (DEMO_PARTNER_KEY if demo_base_url else None)
        developer = os.environ.get("BLAZE_DEVELOPER_KEY") or (DEMO_DEVELOPER_KEY if demo_base_url else None)
        missing = [
            name
            for name, value in (
                ("BLAZE_BASE_URL", base_url),
                ("BLAZE_PARTNER_KEY", partner),
                ("BLAZE_DEVELOPER_KEY", developer),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"missing environment variable(s): {', '.join(missing)}",
                hint="set them in the environment or in a .env file in the working directory",
            )
        assert base_url and partner and developer
        register_secret(partner)
        register_secret(developer)
        return cls(base_url=base_url.rstrip("/"), partner_key=partner, developer_key=developer)


def database_url() -> str | None:
    """``DATABASE_URL`` when set, else ``None`` (the embedded Postgres is used)."""
    load_dotenv_once()
    return os.environ.get("DATABASE_URL") or None
