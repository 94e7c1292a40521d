"""The processes under a worker (pool children, Playwright's driver, Chromium),
found with psutil, to kill a browser and to check none outlives its worker."""

from __future__ import annotations

import time

import psutil


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def is_chromium(proc: psutil.Process) -> bool:
    try:
        return "chrom" in proc.name().lower()
    except psutil.Error:
        return False


def browser_mains(pid: int) -> list[psutil.Process]:
    """Chromium's browser processes (not its renderers, GPU or zygote helpers)."""
    found = []
    for proc in descendants(pid):
        try:
            if is_chromium(proc) and not any(a.startswith("--type=") for a in proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def zombies(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for proc in procs:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.NoSuchProcess:
            pass
    return out


def lasting_zombies(pid: int, timeout: float) -> list[psutil.Process]:
    """Zombies under `pid` that nobody reaps: a helper that just exited is a zombie
    for a moment until Chromium reaps it, so only those still there after `timeout` count."""
    deadline = time.monotonic() + timeout
    found = zombies(descendants(pid))
    while found and time.monotonic() < deadline:
        time.sleep(0.2)
        found = [p for p in zombies(descendants(pid)) if p in found]
    return found


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait for these processes to exit (zombies count as exited only once reaped);
    returns those still there."""
    deadline = time.monotonic() + timeout
    alive = procs
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _exists(p)]
        time.sleep(0.1)
    return alive


def _exists(proc: psutil.Process) -> bool:
    try:
        return proc.is_running()
    except psutil.Error:
        return False
