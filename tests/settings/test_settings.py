"""Settings refuse default and guessable secrets in production, name the variable, never echo the value."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

import jiayuan
from jiayuan.settings import Settings, secret_weakness


def test_development_defaults_point_at_sqlite_under_var() -> None:
    settings = Settings(env="development")
    assert settings.database_url.startswith("sqlite:///var/")
    assert settings.is_sqlite


@pytest.mark.parametrize("variable", ["secret_key", "pii_key", "pass_signing_key"])
def test_production_refuses_a_default_secret(variable: str) -> None:
    good = {k: secrets.token_urlsafe(32) for k in ("secret_key", "pii_key", "pass_signing_key")}
    del good[variable]
    with pytest.raises(ValidationError) as excinfo:
        Settings(env="production", **good)  # type: ignore[arg-type]
    assert f"JIAYUAN_{variable.upper()}" in str(excinfo.value)


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(
        env="production",
        secret_key=secrets.token_urlsafe(32),  # type: ignore[arg-type]
        pii_key=secrets.token_hex(32),  # type: ignore[arg-type]
        pass_signing_key=secrets.token_urlsafe(24),  # type: ignore[arg-type]
    )
    assert settings.env == "production"


WEAK_SECRETS = [
    "aaaaaaaaaaaaaaaaaaaa",  # one character
    "1234567890123456",  # a digit run
    "abcdefghijklmnopqrstu",  # an alphabet run
    "qwertyuiopasdfghjkl",  # a keyboard row
    "1qaz2wsx3edc4rfv5tgb",  # keyboard columns
    "zaq12wsxcde34rfvbgt5",  # columns, up and down
    "1q2w3e4r5t6y7u8i9o0p",  # a zigzag between two rows
    "!QAZ@WSX#EDC$RFV%TGB",  # the same columns, shifted
    "Xy7!Xy7!Xy7!Xy7!Xy7!",  # a repeated pattern
    "passwordpassword2026!",  # words
    "our-office-default-key-please-change",  # words
    "1111222211112222",  # few characters
    "abab1212abab1212abab",  # too little randomness
    "s" * 32,
]


@pytest.mark.parametrize("weak", WEAK_SECRETS)
@pytest.mark.parametrize("variable", ["secret_key", "pii_key", "pass_signing_key"])
def test_production_refuses_a_guessable_secret_without_echoing_it(variable: str, weak: str) -> None:
    values = {k: secrets.token_urlsafe(32) for k in ("secret_key", "pii_key", "pass_signing_key")}
    values[variable] = weak
    with pytest.raises(ValidationError) as excinfo:
        Settings(env="production", **values)  # type: ignore[arg-type]
    message = str(excinfo.value)
    assert f"JIAYUAN_{variable.upper()}" in message
    # No piece of the secret (six characters or more) shows up anywhere in the error.
    pieces = {weak[i : i + 6] for i in range(len(weak) - 5)}
    assert not [p for p in pieces if p in message], message
    for good in values.values():
        if good != weak:
            assert good[:8] not in message


def test_the_generator_the_error_suggests_is_never_refused() -> None:
    refused = [t for t in (secrets.token_urlsafe(32) for _ in range(3000)) if secret_weakness(t)]
    assert refused == []
    assert secret_weakness("tlOOITSdfe_RGUoO9olL4RTf6TWvOeMNvmkliKNEHug") is None  # once refused by chance


def test_the_default_detector_ships_inside_the_package() -> None:
    """An installation has no checkout around it: the model must come with the package, intact."""
    path = Settings().vision_model_path
    assert path is not None and path.is_file()
    assert Path(jiayuan.__file__).parent in path.parents
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14"
    assert (path.parent / "LICENSE-Apache-2.0.txt").is_file()
