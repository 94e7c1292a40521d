"""Browser kinds: each has its own queue, the CLI offers exactly the kinds there are,
and every proxy country the API accepts has a language and time zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.schemas import PROXY_COUNTRIES, RunTaskRequest
from shared.browser_kinds import KINDS, queue_for
from shared.settings import Settings
from worker.browser.chromium import missing_for
from worker.browser.locale import BY_COUNTRY, locale_options


def test_each_kind_has_a_queue_of_its_own() -> None:
    assert KINDS == ("stealth", "headful", "lean")
    assert len({queue_for(kind) for kind in KINDS}) == len(KINDS)


def test_the_request_field_takes_the_kinds_and_nothing_else() -> None:
    for kind in KINDS:
        assert RunTaskRequest(task="x", browser_kind=kind).browser_kind == kind  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="browser_kind"):
        RunTaskRequest(task="x", browser_kind="turbo")  # type: ignore[arg-type]
    assert RunTaskRequest(task="x").browser_kind is None  # the operator's default, decided at submit


def test_every_proxy_country_has_a_locale_and_time_zone() -> None:
    assert set(PROXY_COUNTRIES) <= set(BY_COUNTRY)


def test_locale_is_the_proxy_countrys_else_the_operators() -> None:
    settings = Settings(browser_locale="fi-FI", browser_timezone="Europe/Helsinki")
    assert locale_options("DE", settings) == {"locale": "de-DE", "timezone_id": "Europe/Berlin"}
    assert locale_options(None, settings) == {"locale": "fi-FI", "timezone_id": "Europe/Helsinki"}


def test_a_worker_is_told_what_its_kind_lacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither Xvfb nor chromium-headless-shell on it
    settings = Settings()
    assert missing_for("stealth", settings) is None
    assert "chromium-headless-shell" in (missing_for("lean", settings) or "")
    assert "xvfb" in (missing_for("headful", settings) or "")
    assert missing_for("lean", Settings(headless_shell_path="/opt/shell")) is None


def test_the_commands_take_a_kind_and_refuse_another() -> None:
    from typer.testing import CliRunner

    from cli.app import app

    refused = CliRunner().invoke(app, ["worker", "--browser-kind", "turbo"])
    assert refused.exit_code == 2 and "turbo" in refused.output
    for command in ("worker", "dev"):
        assert "--browser-kind" in CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
