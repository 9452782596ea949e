"""The tenancy settings: `SCIMHUB_REQUIRE_SSO` and the usage flush interval."""

from __future__ import annotations

import pytest

from scimhub.settings import Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.require_sso is True
    assert settings.token_usage_flush_seconds == 5.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("TRUE", True), ("false", False), ("0", False), ("False", False)],
)
def test_require_sso_parses_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_env({"SCIMHUB_REQUIRE_SSO": raw}).require_sso is expected


@pytest.mark.parametrize("raw", ["", "maybe", "2", "tru"])
def test_require_sso_refuses_anything_else(raw: str) -> None:
    with pytest.raises(ValueError, match="SCIMHUB_REQUIRE_SSO"):
        Settings.from_env({"SCIMHUB_REQUIRE_SSO": raw})


def test_numbers_and_overrides() -> None:
    env = {"SCIMHUB_TOKEN_USAGE_FLUSH_SECONDS": "0.5", "SCIMHUB_PORT": "9000"}
    settings = Settings.from_env(env, port=9001)
    assert (settings.token_usage_flush_seconds, settings.port) == (0.5, 9001)
    with pytest.raises(ValueError, match="SCIMHUB_PORT"):
        Settings.from_env({"SCIMHUB_PORT": "eighty"})
