"""Service configuration (DESIGN.md §3): pydantic-settings with the ``GOVSSI_`` environment prefix.

``GOVSSI_DATA_DIR`` is the base of all local state (default: the user's data directory); ``GOVSSI_DATABASE_URL``,
``GOVSSI_CHAIN_RPC`` and ``GOVSSI_REDIS_URL`` override parts of it. Services subclass :class:`ServiceSettings`.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.db import sqlite_url

__all__ = ["ServiceSettings", "default_data_dir"]


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("govssi", appauthor=False))


class ServiceSettings(BaseSettings):
    """Settings every service shares. ``service_name`` names its SQLite file and log records."""

    model_config = SettingsConfigDict(env_prefix="GOVSSI_", extra="ignore")

    service_name: str = "service"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    chain_rpc: str | None = None
    redis_url: str | None = None
    #: Development and tests only: plain-HTTP identifiers and URLs on loopback (HAIP requires HTTPS otherwise).
    dev_allow_http: bool = False
    #: Largest request body any endpoint accepts, in bytes.
    max_body_bytes: int = 256 * 1024

    def effective_database_url(self) -> str:
        """``GOVSSI_DATABASE_URL`` or, by default, an SQLite file ``<data_dir>/<service_name>.db``."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return sqlite_url(self.data_dir / f"{self.service_name}.db")

    def chain_rpc_urls(self) -> list[str]:
        """``GOVSSI_CHAIN_RPC`` split at commas (failover order); empty when unset."""
        return [url.strip() for url in (self.chain_rpc or "").split(",") if url.strip()]
