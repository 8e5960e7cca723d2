"""Settings from GANCTL_* environment variables: the one place that knows each default."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".ganctl"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GANCTL_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    # Empty means "the embedded default under home" (SQLite store, SQLite-backed broker).
    database_url: str = ""
    broker_url: str = ""
    artifacts_dir: Path | None = None
    data_dir: Path | None = None
    # Derived data that is safe to share (the quality classifier's weights, decoded image folders).
    cache_dir: Path | None = None
    # Seconds before Redis re-delivers an unacknowledged task; longer than a long training run.
    visibility_timeout: int = 7 * 24 * 3600
    # A running job whose heartbeat is older than this is presumed dead (reaper).
    heartbeat_lease: float = 120.0
    heartbeat_every: float = 10.0
    max_attempts: int = 3
    # A queued job whose message never arrived is re-published after this many seconds.
    requeue_after: float = 300.0
    submit_timeout: float = 10.0
    # s3://bucket/prefix: artifacts live in an S3-compatible bucket, artifacts_dir is this host's cache.
    artifacts_url: str = ""
    s3_endpoint_url: str = ""  # e.g. http://minio:9000; empty: AWS S3 (AWS_ENDPOINT_URL also works)
    s3_region: str = ""
    s3_timeout: float = 5.0  # connect timeout: a wrong endpoint is one line within seconds
    # GANCTL_DEBUG=1: a command shows the traceback of an error instead of its one line.
    debug: bool = False
    # `ganctl ui`: the token its actions need (empty: one is generated at start and printed).
    ui_token: str = ""

    @field_validator("debug", mode="before")
    @classmethod
    def _any_debug_value(cls, v):
        # As before it was a setting: any value but empty/0/false/no/off turns it on (never an error).
        return str(v).strip().lower() not in ("", "0", "false", "no", "off")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'ganctl.db'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.home / 'broker.db'}"

    @property
    def resolved_artifacts_dir(self) -> Path:
        return self.artifacts_dir or self.home / "artifacts"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.home / "cache"

    @property
    def embedded(self) -> bool:
        return not self.broker_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
