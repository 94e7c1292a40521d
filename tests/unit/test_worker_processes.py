"""How `browserq worker` splits its tasks into processes (cli/app.py, worker_processes)."""

from __future__ import annotations

import pytest

from cli.app import TASKS_PER_PROCESS, worker_processes


@pytest.mark.parametrize(
    ("concurrency", "cores", "expected"),
    [
        (2, 2, 1),  # the default concurrency: one process, one Chromium
        (8, 2, 1),
        (8, 8, 1),
        (16, 2, 2),  # past TASKS_PER_PROCESS a second process, on the second core
        (16, 1, 1),  # no second core: one process hosts them all
        (12, 4, 2),
        (24, 2, 2),  # past it on every core: as many processes as cores
        (9, 2, 1),  # 9 tasks split evenly needs 3 processes: more than the cores
        (64, 16, 8),
    ],
)
def test_the_default_is_the_fewest_processes_that_host_at_most_8_tasks_each(
    concurrency: int, cores: int, expected: int
) -> None:
    assert TASKS_PER_PROCESS == 8
    assert worker_processes(concurrency, 0, cores) == expected


def test_asked_processes_must_divide_the_tasks() -> None:
    assert worker_processes(8, 2, 1) == 2  # asked for, whatever the cores
    with pytest.raises(ValueError, match="must divide --concurrency 8 evenly"):
        worker_processes(8, 3, 4)
