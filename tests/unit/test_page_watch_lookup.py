"""The page watch looks for a page's renderer process by its CPU time; when it cannot tell
it apart (tasks doing the same work have renderers whose times stay close), it looks again
less and less often, never less often than LOOKUP_MAX_WAIT_SECONDS."""

from __future__ import annotations

from worker.browser.page_watch import LOOKUP_MAX_WAIT_SECONDS, lookup_wait


def test_the_wait_doubles_from_one_interval_up_to_the_cap() -> None:
    waits = [lookup_wait(n, 1.0) for n in range(1, 9)]
    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert waits[5:] == [LOOKUP_MAX_WAIT_SECONDS] * 3
    assert lookup_wait(2, 0.5) == 1.0
    assert lookup_wait(5000, 1.0) == LOOKUP_MAX_WAIT_SECONDS  # no overflow however many
