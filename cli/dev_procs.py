"""The processes `browserq dev` starts, and how it ends them whatever ends it.

uvicorn stops on SIGINT and SIGTERM and then raises the same signal again,
with the handler that was there before it: with Python's default SIGTERM
handler that kills the process on the spot, so a `finally` that stops the
worker never runs and the worker is left under init with its browsers. So dev
installs handlers first (SIGTERM: exit through `finally`; SIGHUP and SIGQUIT:
the same path, through uvicorn's graceful stop), and each child asks the
kernel for SIGTERM when dev dies by any other means (SIGKILL included)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from types import FrameType

import typer

PR_SET_PDEATHSIG = 1
ALSO_STOP_ON = (signal.SIGHUP, signal.SIGQUIT)


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _as_sigterm(_signum: int, _frame: FrameType | None) -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful stop when it runs, else _exit


def stop_children_on_signals() -> None:
    """Call before starting children, in the main thread."""
    signal.signal(signal.SIGTERM, _exit)
    for sig in ALSO_STOP_ON:
        signal.signal(sig, _as_sigterm)


def child_of_this_process() -> None:
    """A `preexec_fn`: the child gets SIGTERM when this process dies, however it dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def announce_when_ready(base_url: str, lines: Sequence[tuple[str, str]], every: float = 0.1) -> threading.Thread:
    """Print `lines` (text, colour) once GET /api/v1/ping answers, not before: a
    URL printed while the port is still closed sends people to a dead page."""

    def wait_then_print() -> None:
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/api/v1/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:  # refused, reset, timed out (urllib's URLError is one)
                pass
            time.sleep(every)
        for text, colour in lines:
            typer.secho(text, fg=colour)

    thread = threading.Thread(target=wait_then_print, name="announce-url", daemon=True)
    thread.start()
    return thread
