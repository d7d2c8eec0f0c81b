"""The server's settings, one model made of the option groups, and what is derived from it:
the CLI's option and variable names, loading with readable errors, the docs table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from peerlane.config.files import FileOptions
from peerlane.config.limits import LimitOptions, SessionOptions
from peerlane.config.network import NetworkOptions
from peerlane.config.peerjs import PeerJsOptions
from peerlane.config.storage import RetentionOptions, StorageOptions
from peerlane.config.webrtc import WebRtcOptions
from peerlane.errors import ConfigError


# The groups are listed last-first: pydantic orders the fields from the base class the
# furthest from Settings in its MRO, and that order is the order of `peerlane serve --help`
# and of the table in docs/configuration.md (network first, operations last).
class Settings(
    PeerJsOptions,
    WebRtcOptions,
    FileOptions,
    RetentionOptions,
    LimitOptions,
    SessionOptions,
    StorageOptions,
    NetworkOptions,
    BaseSettings,
):
    # Only this class's config counts: the groups are plain models, never loaded alone,
    # so every field's variable is PEERLANE_<NAME> (tests/unit/test_config_env.py).
    model_config = SettingsConfigDict(
        env_prefix="PEERLANE_", extra="forbid", validate_default=True, frozen=True
    )

    # -- operations --
    log_format: Literal["console", "json"] = Field("console", description="Log format.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    shutdown_timeout: float = Field(
        10.0, gt=0, description="Seconds to finish in-flight requests on shutdown."
    )

    @property
    def files_path(self) -> Path:
        """Where uploaded files live: ``files_dir``, else ``files/`` in the data directory."""
        return self.files_dir if self.files_dir is not None else self.data_dir / "files"


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def env_name(field: str) -> str:
    return "PEERLANE_" + field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``overrides`` (CLI options that were given).

    A bad value raises :class:`ConfigError` naming the option and its variable.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            if loc:
                field = str(loc[0])
                lines.append(f"{option_name(field)} ({env_name(field)}): {err['msg']}")
            else:
                lines.append(err["msg"])
        raise ConfigError(message="Invalid configuration:\n  " + "\n  ".join(lines)) from exc


def default_text(field: str) -> str:
    default = Settings.model_fields[field].get_default(call_default_factory=True)
    if default is None or isinstance(default, SecretStr):
        return "unset"
    if isinstance(default, list):
        return ",".join(map(str, default)) or "empty"
    return str(default)


def markdown_table() -> str:
    """The option table of docs/configuration.md (a test keeps the doc in sync)."""
    rows = ["| option | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        rows.append(
            f"| `{option_name(name)}` | `{env_name(name)}` | `{default_text(name)}` "
            f"| {info.description} |"
        )
    return "\n".join(rows) + "\n"
