"""Settings refuse default secrets in production and name the variable to set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jiayuan.settings import Settings


def test_development_defaults_point_at_sqlite_under_var() -> None:
    settings = Settings(env="development")
    assert settings.database_url.startswith("sqlite:///var/")
    assert settings.is_sqlite


@pytest.mark.parametrize("variable", ["secret_key", "pii_key", "pass_signing_key"])
def test_production_refuses_a_default_secret(variable: str) -> None:
    good = {k: "x" * 32 + k for k in ("secret_key", "pii_key", "pass_signing_key")}
    del good[variable]
    with pytest.raises(ValidationError) as excinfo:
        Settings(env="production", **good)  # type: ignore[arg-type]
    assert f"JIAYUAN_{variable.upper()}" in str(excinfo.value)


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(
        env="production",
        secret_key="s" * 32,  # type: ignore[arg-type]
        pii_key="p" * 32,  # type: ignore[arg-type]
        pass_signing_key="k" * 32,  # type: ignore[arg-type]
    )
    assert settings.env == "production"
