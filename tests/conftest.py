"""Shared fixtures: the scripted model server, the test site, and running
browserq stacks (PostgreSQL + Redis, and embedded)."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="session")
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used a running stack carries that stack's state and log tails,
    so a CI log says whether a worker died or stopped taking tasks."""
    report = yield
    if report.failed and call.when == "call":
        funcargs = getattr(item, "funcargs", {})
        for name in ("stack", "pg_stack", "embedded_stack"):
            stack = funcargs.get(name)
            if isinstance(stack, Stack):
                report.sections.append((f"{name} at the failure", stack.diagnosis()))
                break
    return report


def _stack(kind: str, model: ScriptedModelServer) -> Iterator[Stack]:
    stack = Stack(kind=kind, model_base_url=model.base_url)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def pg_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    yield from _stack("postgres", model)


@pytest.fixture(scope="session")
def embedded_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    yield from _stack("embedded", model)


@pytest.fixture(scope="session", params=["postgres", "embedded"])
def stack(request: pytest.FixtureRequest) -> Stack:
    """Each end-to-end test runs against both ways of deploying."""
    return request.getfixturevalue("pg_stack" if request.param == "postgres" else "embedded_stack")
