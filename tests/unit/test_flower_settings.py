"""Flower's settings checks and the clean-up of listeners it left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.flower import FlowerUnavailable, check_flower_settings, dev_login, forget_event_listeners
from shared.settings import Settings


def test_flower_needs_a_login_of_the_right_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    with pytest.raises(FlowerUnavailable, match="BROWSERQ_FLOWER_BASIC_AUTH=user:password"):
        check_flower_settings(Settings(broker_url="redis://r:6379/0"))
    with pytest.raises(FlowerUnavailable, match="must look like"):
        check_flower_settings(Settings(broker_url="redis://r:6379/0", flower_basic_auth="admin"))
    assert check_flower_settings(Settings(broker_url="redis://r:6379/0", flower_basic_auth="a:b,c:d")) == "a:b,c:d"


def test_flower_refuses_a_broker_it_cannot_follow() -> None:
    with pytest.raises(FlowerUnavailable, match="'sqla'"):
        check_flower_settings(Settings(broker_url="sqla+sqlite:///x.db", flower_basic_auth="a:b"))
    assert check_flower_settings(Settings(broker_url=None, flower_basic_auth="a:b"))  # filesystem


def test_dev_login_is_made_once(tmp_path: Path) -> None:
    login = dev_login(tmp_path)
    assert login.startswith("admin:") and len(login) > 15 and dev_login(tmp_path) == login


def test_stale_event_listeners_are_forgotten(tmp_path: Path) -> None:
    (tmp_path / "control").mkdir()
    (tmp_path / "queue").mkdir()
    (tmp_path / "control" / "celeryev.exchange").write_text('[["#", "^.*?$", "celeryev.abc"]]')
    (tmp_path / "queue" / "1_x.celeryev.abc.msg").write_text("{}")
    (tmp_path / "queue" / "2_y.browserq.msg").write_text("{}")
    assert forget_event_listeners(tmp_path) == 1
    assert [p.name for p in (tmp_path / "queue").iterdir()] == ["2_y.browserq.msg"]
    assert not (tmp_path / "control" / "celeryev.exchange").exists()


def test_flowers_own_variable_is_a_login_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:pw")  # docker-compose.yml's name
    assert check_flower_settings(Settings(broker_url="redis://r:6379/0")) == "ops:pw"
