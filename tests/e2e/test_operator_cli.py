"""What an operator meets first, through the real `browserq` command: `dev`
stops everything it started whatever signal ends it, and prints its URL only
once the API answers; the admin commands find the data folder `dev` uses and
say in one line when there is no database; `api` without a secret key refuses
to start (or keeps one in the data folder it was given)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.app_server import free_port
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import CHROMIUM, poll

pytestmark = pytest.mark.e2e
URL_LINE = "browserq is running on "
ROOT = Path(__file__).resolve().parents[2]  # the commands run in other folders, on this checkout's code
SLOW = 240  # a busy machine takes a while to start dev (migrations, Celery, Chromium)


def env(data_dir: Path, model: ScriptedModelServer, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BROWSERQ_", "OPENAI_", "ANTHROPIC_"))}
    return {
        **clean,
        "BROWSERQ_CHROMIUM_PATH": CHROMIUM,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "test-key",
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",  # a straggler's stacks on SIGABRT
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def browserq(*args: str, environ: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=environ,
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Dev:
    """`browserq dev` in its own session, its output read line by line as it comes."""

    proc: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    # Whether the API accepted a connection at the moment each line arrived.
    port_open_at_line: list[bool] = field(default_factory=list)
    seen: list[psutil.Process] = field(default_factory=list)
    reader: threading.Thread | None = None

    def all_output(self) -> str:
        """Everything dev printed, once it has ended: the reader pings the port at each line,
        so it may still be lines behind when dev exits."""
        assert self.reader is not None
        self.reader.join(timeout=SLOW)
        return "".join(self.lines)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.port_open_at_line.append(_port_open(self.port))
            self.lines.append(line)

    def key(self) -> str:
        """The key dev prints after its URL, once it is up."""
        line = poll(
            "dev's key", lambda: next((ln for ln in self.lines if ln.startswith("API key: ")), None), timeout=SLOW
        )
        return line.split()[-1]

    def descendants(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            found = []
        self.seen.extend(found)  # for the clean-up, should some outlive dev
        return found


def _port_open(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=5).status_code == 200  # a busy machine
    except httpx.HTTPError:
        return False


@pytest.fixture
def dev(tmp_path: Path, model: ScriptedModelServer) -> Iterator[Dev]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "dev",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "-c",
            "1",
        ],
        env=env(tmp_path, model),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = Dev(proc, port)
    started.reader = threading.Thread(target=started.read, daemon=True)
    started.reader.start()
    try:
        yield started
    finally:
        left = started.descendants() + started.seen
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for p in left:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL], ids=lambda s: signal.Signals(s).name
)
def test_any_signal_to_dev_stops_everything_it_started(
    dev: Dev, sig: int, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = dev.key()
    poll("the API", lambda: _port_open(dev.port), timeout=SLOW)
    script = model.script(
        [
            answer("Open", {"navigate": {"url": site.url + "/"}}),
            {"_delay": 300.0, "reply": answer("Finish", {"done": {"text": "late"}})},
        ]
    )
    with httpx.Client(
        base_url=f"http://127.0.0.1:{dev.port}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        task_id = client.post("/run-task", json={"task": f"Wait [script:{script}]"}).json()["id"]
        poll("the task's first step", lambda: client.get(f"/task/{task_id}").json()["steps"], timeout=SLOW)
    # dev's worker, its pool process, Playwright's driver and Chromium with its helpers: all below dev.
    tree = dev.descendants()
    assert any("chrom" in p.name() for p in tree if _alive(p)), [p.name() for p in tree]
    dev.proc.send_signal(sig)  # to dev alone, as a process manager does (not to its group)
    dev.proc.wait(timeout=SLOW)
    # Chromium's crashpad handler leaves its parent for init by design (a container's init reaps
    # it: docker-compose.yml's `init: true`); when Chromium has to be killed it can outlive it.
    # Everything else dev started must end.
    ours = [p for p in tree if "crashpad" not in _name(p)]
    try:
        poll("every process dev started to end", lambda: not [p for p in ours if _alive(p)], timeout=SLOW)
    except AssertionError as exc:
        left = [p for p in ours if _alive(p)]
        described = [_described(p) for p in left]
        for p in left:  # PYTHONFAULTHANDLER: a Python straggler's SIGABRT prints its threads' stacks
            if "python" in _name(p):
                os.kill(p.pid, signal.SIGABRT)
        time.sleep(3)
        raise AssertionError(f"{exc}; still running: {described}; dev's output:\n{''.join(dev.lines[-150:])}") from None


def _worker_started(dev: Dev) -> bool:
    """dev has started its worker (which is importing; the API is not up yet)."""
    return bool(dev.descendants())


def _pool_started(dev: Dev) -> bool:
    """The worker's Celery has forked its pool (the API may or may not be listening yet)."""
    try:
        return any(p.ppid() != dev.proc.pid for p in dev.descendants() if _alive(p))
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("moment", [_worker_started, _pool_started], ids=lambda f: f.__name__.strip("_"))
def test_sigterm_during_start_up_stops_everything(dev: Dev, moment: Callable[[Dev], bool]) -> None:
    """A process manager's SIGTERM can come at any moment of dev's start: while the
    worker is being started, while Celery forks its pool, while the API binds. dev
    must still end only after every process it started (once all is up: the test above)."""
    done = threading.Event()
    children: dict[int, psutil.Process] = {}
    watching = threading.Thread(target=_watch, args=(dev, children, done), daemon=True)
    watching.start()
    poll(f"dev's start-up to reach {moment.__name__}", lambda: moment(dev), timeout=SLOW, every=0.02)
    with contextlib.suppress(psutil.NoSuchProcess):  # the ones the moment saw, before the watch does
        children.update({p.pid: p for p in psutil.Process(dev.proc.pid).children()})
    dev.proc.send_signal(signal.SIGTERM)
    dev.proc.wait(timeout=SLOW)
    done.set()
    watching.join()
    said = f"its output:\n{''.join(dev.lines[-80:])}"
    # dev waits for its own children: none may be left the moment it is gone, nor the API it ran.
    assert children, "dev had started nothing when it was stopped"
    left = [_described(p) for p in children.values() if _alive(p)]
    assert not left, f"dev exited ({dev.proc.returncode}) before its children: {left}; {said}"
    assert not _port_open(dev.port), f"the API still answers after dev exited; {said}"
    # Their own children (the pool, Playwright's driver, Chromium) end with them.
    ours = [p for p in dev.seen if "crashpad" not in _name(p)]
    try:
        poll("every process dev started to end", lambda: not [p for p in ours if _alive(p)], timeout=SLOW)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still running: {[_described(p) for p in ours if _alive(p)]}; {said}") from None


def _watch(dev: Dev, children: dict[int, psutil.Process], done: threading.Event) -> None:
    """Every process dev starts, those started after the signal too, until dev is gone."""
    while not done.is_set():
        try:
            for child in psutil.Process(dev.proc.pid).children():
                children.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            return
        dev.descendants()
        time.sleep(0.02)


def test_dev_ends_saying_so_when_its_worker_dies(dev: Dev) -> None:
    """A dev whose worker is gone would take tasks that never run: it stops, saying why."""
    dev.key()
    worker = poll(
        "dev's worker",
        lambda: next((p for p in psutil.Process(dev.proc.pid).children() if "worker" in p.cmdline()), None),
        timeout=SLOW,
    )
    tree = dev.descendants()
    worker.kill()
    assert dev.proc.wait(timeout=SLOW) != 0
    said = dev.all_output()
    assert "the worker stopped on its own (exit code -9)" in said, said[-2000:]
    ours = [p for p in tree if "crashpad" not in _name(p)]
    poll("every process dev started to end", lambda: not [p for p in ours if _alive(p)], timeout=SLOW)


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return ""


def _described(process: psutil.Process) -> str:
    """A straggler as one can chase it: pid, its parents up to init, its command line."""
    try:
        chain = " <- ".join(f"{p.pid} {p.name()}" for p in [process, *process.parents()])
        return f"{chain}: {' '.join(process.cmdline())[:300]}"
    except psutil.Error:
        return f"{process.pid} (gone)"


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_dev_prints_its_url_only_once_the_api_answers(dev: Dev) -> None:
    """Its first screen is for a person: the URL and key, no page of alembic's progress
    (the migrations of a new data folder ran: their lines show only when one fails)."""
    dev.key()
    at = next(i for i, line in enumerate(dev.lines) if URL_LINE in line)
    assert dev.port_open_at_line[at], "the URL was printed while the port was still closed"
    assert dev.lines[at].startswith(URL_LINE), dev.lines[at]
    assert any(line.startswith("API key: ") for line in dev.lines[at:])
    first_screen = "".join(dev.lines[: at + 2])
    assert "alembic" not in first_screen, first_screen


def test_admin_commands_take_the_data_dir_and_say_when_there_is_no_database(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    environ = env(tmp_path, model)
    data = tmp_path / "elsewhere"
    for args in (
        ["keys", "create", "ops"],
        ["keys", "--data-dir", str(data), "create", "ops"],
        ["keys", "create", "ops", "--data-dir", str(data)],
        ["keys", "budget", "abc", "5"],
    ):
        missing = browserq(*args, environ=environ, cwd=tmp_path)
        assert missing.returncode == 1, missing
        assert "no browserq database at" in missing.stderr and "--data-dir" in missing.stderr, missing.stderr
        assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr, missing.stderr

    assert browserq("migrate", "--data-dir", str(data), environ=environ, cwd=tmp_path).returncode == 0
    assert (data / "browserq.db").exists()
    before = browserq("keys", "--data-dir", str(data), "create", "first", environ=environ, cwd=tmp_path)
    after = browserq("keys", "create", "second", "--data-dir", str(data), environ=environ, cwd=tmp_path)
    assert before.returncode == 0 and after.returncode == 0, (before.stderr, after.stderr)
    assert before.stdout.strip().splitlines()[-1].startswith("bq_")

    unreachable = browserq(
        "keys",
        "create",
        "x",
        cwd=tmp_path,
        environ={**environ, "BROWSERQ_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
    )
    assert unreachable.returncode == 1 and "cannot open the database" in unreachable.stderr, unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1, unreachable.stderr


def test_api_without_a_secret_key_refuses_to_start_or_keeps_one_in_its_data_dir(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    environ = env(tmp_path, model)
    refused = browserq("api", "--port", str(free_port()), environ=environ, cwd=tmp_path)
    assert refused.returncode == 1 and "BROWSERQ_SECRET_KEY is not set" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    data = tmp_path / "data"
    assert browserq("migrate", "--data-dir", str(data), environ=environ, cwd=tmp_path).returncode == 0
    key = browserq("keys", "create", "k", "--data-dir", str(data), environ=environ, cwd=tmp_path).stdout.split()[-1]
    port = free_port()
    log = (tmp_path / "api.log").open("w")
    api = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--port", str(port), "--data-dir", str(data)],
        env=environ,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        poll("the API", lambda: _port_open(port), timeout=SLOW)
        kept = (data / "secret.key").read_text()
        assert (data / "secret.key").stat().st_mode & 0o777 == 0o600
        headers = {"Authorization": f"Bearer {key}"}
        created = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/run-task",
            headers=headers,
            json={"task": "x", "secrets": {"pw": "hunter2"}},
        )
        assert created.status_code == 200, created.text  # secrets can be stored: there is a key
        for _ in range(3):
            assert (
                httpx.get(f"http://127.0.0.1:{port}/api/v1/task/{created.json()['id']}", headers=headers).status_code
                == 200
            )
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
    assert "cannot be signed" not in (tmp_path / "api.log").read_text()
    assert kept.strip()


def test_api_stops_on_sigterm_while_a_search_holds_a_request_open(tmp_path: Path, model: ScriptedModelServer) -> None:
    """`browserq api` alone (no worker) answers a search only when its task ends, which here is
    never: the open request holds uvicorn's graceful stop until BROWSERQ_API_SHUTDOWN_GRACE_SECONDS
    cancels it, and the API exits. Without a bound it would wait out the search's 600 s."""
    data = tmp_path / "data"
    environ = env(tmp_path, model, BROWSERQ_SEARCH_TIMEOUT_SECONDS="600", BROWSERQ_API_SHUTDOWN_GRACE_SECONDS="2")
    assert browserq("migrate", "--data-dir", str(data), environ=environ, cwd=tmp_path).returncode == 0
    key = browserq("keys", "create", "k", "--data-dir", str(data), environ=environ, cwd=tmp_path).stdout.split()[-1]
    port = free_port()
    log_path = tmp_path / "api.log"
    api = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--port", str(port), "--data-dir", str(data)],
        env=environ,
        cwd=tmp_path,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base, headers = f"http://127.0.0.1:{port}/api/v1", {"Authorization": f"Bearer {key}"}
    searched: list[object] = []

    def search() -> None:
        try:
            searched.append(httpx.post(f"{base}/simple-search", headers=headers, json={"query": "x"}, timeout=600))
        except httpx.HTTPError as exc:
            searched.append(exc)

    searcher = threading.Thread(target=search, daemon=True)
    try:
        poll("the API", lambda: _port_open(port), timeout=SLOW)
        searcher.start()
        poll("the search's task", lambda: httpx.get(f"{base}/tasks", headers=headers).json()["tasks"], timeout=60)
        assert not searched  # the search is waiting for its task

        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=120)  # generous: the bound is 2 s, the search would hold it 600 s
        searcher.join(timeout=30)
    finally:
        if api.poll() is None:
            os.killpg(api.pid, signal.SIGKILL)
            api.wait()
    log = log_path.read_text()
    assert "timeout graceful shutdown exceeded" in log, log  # the bound ended it, not the search
    left = [p for p in psutil.process_iter(["pid", "cmdline"]) if _group_of(p.pid) == api.pid]
    assert left == [], left  # the API and anything it started are gone
    assert len(searched) == 1 and not isinstance(searched[0], httpx.Response), searched  # cut off, no answer


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
