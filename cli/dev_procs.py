"""The processes `browserq dev` starts, and how it ends them whatever ends it.

uvicorn stops on SIGINT and SIGTERM and then raises the same signal again,
with the handler that was there before it: with Python's default SIGTERM
handler that kills the process on the spot, so a `finally` that stops the
worker never runs and the worker is left under init with its browsers. So dev
installs handlers first (SIGTERM: exit through `finally`; SIGHUP and SIGQUIT:
the same path, through uvicorn's graceful stop), and each child asks the
kernel for a signal when dev dies by any other means (SIGKILL included).

The kernel sends that parent-death signal each time the child is handed to a
new parent, and a dying dev can hand it over more than once (to another of
its exiting threads first, then to init): measured, 1 or 2 signals, by a race.
A second SIGTERM in the middle of Celery's cold shutdown runs that shutdown
again inside the first one's signal handler and deadlocks the pool's stop (the
worker then stays under init for good: the straggler of the SIGKILL case). So
the worker asks for PARENT_GONE instead, a signal Celery leaves alone, and
turns the first one into a single SIGTERM to itself (none if one came already).
The parent-death signal follows the *thread* that forked the child: dev starts
its children from its main thread, which lives as long as dev.

And the worker must then end by itself. Its pool children's locks are
semaphores shared across fork: a child killed while it held one (the pool
terminates its children) leaves it held, and the worker, its tasks already
handed back, blocked for good in multiprocessing's exit-time finalizer
(billiard's _terminate_pool putting the result sentinel). Under dev's SIGTERM
this hid behind dev's own kill after 20 s; with dev gone nobody kills it. So
once Celery's worker returns, the process leaves with os._exit (nothing left
to finalize: Celery has stopped its pool), and a cold shutdown that is still
not over STUCK_AFTER seconds past its soft timeout leaves the same way.

dev must never leave before its children, whenever the signal comes:
- while it starts a child: a SIGTERM raised inside Popen, after the fork but
  before the child is on dev's list, left that child out of the stop (only its
  parent-death signal stopped it, if it had asked for it yet). So signals wait
  while a child is started and recorded (`starting_children`), then act;
- in the child, between the fork and its prctl: dev may already be gone, and
  the kernel then never sends the parent-death signal. So the child checks its
  parent is still the one that forked it, and stops itself if not;
- while dev waits for its children to end: a second signal (a person's second
  Ctrl-C, a process manager's repeat, dev's own watch of the worker) raised
  SystemExit out of the wait, and dev left with its children still stopping.
  Now a second signal kills the children that are left, and dev still waits
  for them (`stop_children`)."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

import typer

PR_SET_PDEATHSIG = 1
ALSO_STOP_ON = (signal.SIGHUP, signal.SIGQUIT)
PARENT_GONE = signal.SIGRTMIN + 1 if hasattr(signal, "SIGRTMIN") else signal.SIGTERM
_stopping = threading.Event()
STUCK_AFTER = 30.0
log = logging.getLogger("browserq.worker")


_held: list[int] = []  # signals that came while a child was being started
_holding = False
_leaving = False  # the first stop signal has been raised as SystemExit
_hurry = threading.Event()  # a stop signal came after that: kill what is left


def _exit(signum: int, _frame: FrameType | None) -> None:
    global _leaving
    if _leaving:  # already on the way out through `stop_children`: never cut it short
        _hurry.set()
    elif _holding:
        _held.append(signum)
    else:
        _leaving = True
        raise SystemExit(128 + signum)


def _as_sigterm(_signum: int, _frame: FrameType | None) -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful stop when it runs, else _exit


def stop_children_on_signals() -> None:
    """Call before starting children, in the main thread. (uvicorn puts its own SIGTERM and
    SIGINT handlers in while it serves, and raises the signal again with these once stopped.)"""
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    for sig in ALSO_STOP_ON:
        signal.signal(sig, _as_sigterm)


@contextlib.contextmanager
def starting_children() -> Iterator[None]:
    """Around starting a child and putting it on the list `stop_children` ends: a stop
    signal waits until the child is on the list (see the module's note), then acts."""
    global _holding, _leaving
    _holding = True
    try:
        yield
    finally:
        _holding = False
        if _held and not _leaving:
            _leaving = True
            raise SystemExit(128 + _held[0])


def child_of_this_process(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn`: the child gets `sig` when this process dies, however it dies,
    and at once if it died before the child could ask (see the module's note)."""
    parent = os.getpid()

    def ask() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return ask


def worker_child_of_this_process() -> Callable[[], None]:
    """A `preexec_fn` for the worker: PARENT_GONE when this process dies (see the module's note)."""
    return child_of_this_process(PARENT_GONE)


def stop_children(children: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM each child (the worker hands back what it runs) and wait for them all:
    SIGKILL the ones still there after `grace` seconds, or at once when another stop
    signal comes meanwhile. Returns only when every child has ended."""
    global _leaving
    _leaving = True  # from here every stop signal only hurries this
    for sig in (signal.SIGTERM, signal.SIGINT, *ALSO_STOP_ON):
        signal.signal(sig, _exit)
    dev_stopping()
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(child.poll() is None for child in children):
        if _hurry.is_set() or time.monotonic() > deadline:
            for child in children:
                if child.poll() is None:
                    child.kill()
        _hurry.wait(0.1)
    for child in children:
        child.wait()


def stopping(how: str, soft_timeout: float) -> None:
    """The worker has begun to stop (Celery's worker_shutting_down): a parent's death adds
    nothing, and a cold shutdown gets soft_timeout + STUCK_AFTER seconds to end."""
    first = not _stopping.is_set()
    _stopping.set()
    if first and how == "Cold":
        threading.Thread(
            target=_leave_if_stuck, args=(soft_timeout + STUCK_AFTER,), name="shutdown-watchdog", daemon=True
        ).start()


def _leave_if_stuck(after: float) -> None:
    time.sleep(after)
    log.error("worker: the cold shutdown is not over after %.0f s (a lock held by a killed child?): exiting", after)
    leave(1)


def leave(code: int) -> None:
    """End this process now, without the exit-time finalizers that can block on a dead child's lock."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def exit_code(exc: SystemExit) -> int:
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _parent_gone(_signum: int, _frame: FrameType | None) -> None:
    if not _stopping.is_set():
        _stopping.set()
        os.kill(os.getpid(), signal.SIGTERM)  # Celery's own shutdown, once


def stop_once_when_parent_gone() -> None:
    """In the worker, before Celery starts: the first PARENT_GONE becomes one SIGTERM, the
    rest nothing. Until then PARENT_GONE's default action ends the process, before it has
    started anything."""
    if PARENT_GONE != signal.SIGTERM:
        signal.signal(PARENT_GONE, _parent_gone)


_dev_stopping = threading.Event()


def end_dev_when_it_ends(child: subprocess.Popen[bytes], what: str) -> threading.Thread:
    """dev ends, saying why, when `child` ends on its own (a worker stopped by an
    unrecoverable error): a dev without its worker would take tasks that never run.
    A process manager, or the person, then starts dev again."""

    def watch() -> None:
        code = child.wait()
        if _dev_stopping.is_set():
            return
        typer.secho(
            f"browserq dev: the {what} stopped on its own (exit code {code}); stopping everything. "
            "Its log above says why; start browserq dev again.",
            fg="red",
            err=True,
        )
        os.kill(os.getpid(), signal.SIGTERM)  # out through uvicorn's stop and dev's `finally`

    thread = threading.Thread(target=watch, name=f"watch-{what}", daemon=True)
    thread.start()
    return thread


def dev_stopping() -> None:
    """dev is ending its children itself: their ends are no news."""
    _dev_stopping.set()


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
