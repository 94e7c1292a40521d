"""Starts browserq for real, as a user would: the API and Celery workers in
their own processes, against PostgreSQL + Redis or in embedded mode (SQLite
and the filesystem broker). Tests talk to it over HTTP only."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import redis

from tests.support.app_server import free_port

T = TypeVar("T")

PG_ADMIN = os.environ.get("BROWSERQ_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BROWSERQ_TEST_REDIS", "redis://127.0.0.1:6379")


def cli_module() -> str:
    """The `browserq` command as `python -m` runs it from the current folder: `cli`, or
    `shared.cli` in a checkout from before the CLI had its own package (bench_density.py
    runs the stack from another checkout given by --tree, e.g. an older main)."""
    return "shared.cli" if Path("shared/cli.py").is_file() and not Path("cli").is_dir() else "cli"


CHROMIUM = os.environ.get("BROWSERQ_CHROMIUM_PATH", "/usr/bin/chromium")


def fresh_postgres_db() -> str:
    name = f"browserq_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_postgres_db(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_redis_db() -> str:
    """A Redis database no other running stack uses: claimed with a key in db 0
    (released by `release_redis_db`, or after an hour if a test run died), so
    concurrent test runs never flush or consume each other's queues. A database a
    client is still connected to is passed over even when unclaimed: a worker left
    running by a killed test run (its claim expired) would take the new stack's tasks."""
    claims = redis.Redis.from_url(f"{REDIS_URL}/0")
    in_use = {int(client["db"]) for client in claims.client_list()}
    for db in random.sample(range(1, 16), 15):
        if db not in in_use and claims.set(f"browserq-test:redis-db:{db}", os.getpid(), nx=True, ex=3600):
            url = f"{REDIS_URL}/{db}"
            redis.Redis.from_url(url).flushdb()
            return url
    raise RuntimeError(
        "all 15 Redis test databases are in use (claimed in db 0, or a client is connected: CLIENT LIST);"
        " wait for other test runs, or stop leftover workers and FLUSHDB db 0"
    )


def release_redis_db(url: str) -> None:
    redis.Redis.from_url(f"{REDIS_URL}/0").delete(f"browserq-test:redis-db:{url.rsplit('/', 1)[1]}")


@dataclass
class Stack:
    """One running browserq: `url`, a ready `key`, and handles on its processes."""

    kind: str  # "postgres" or "embedded"
    model_base_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    concurrency: int = 2
    worker_kinds: list[str] = field(default_factory=list)  # worker i's --browser-kind ("" or none: the default)
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="browserq-test-")))
    procs: list[subprocess.Popen] = field(default_factory=list)
    worker_procs: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = fresh_postgres_db() if self.kind == "postgres" else None
        self.broker_url = fresh_redis_db() if self.kind == "postgres" else None
        self.env = self._env()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BROWSERQ_", "OPENAI_", "ANTHROPIC_"))}
        env.update(
            BROWSERQ_DATA_DIR=str(self.data_dir),
            BROWSERQ_CHROMIUM_PATH=CHROMIUM,
            BROWSERQ_ALLOW_PRIVATE_HOSTS='["127.0.0.1:*", "localhost:*"]',
            BROWSERQ_SECRET_KEY="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDE=",
            BROWSERQ_PUBLIC_URL=self.url,
            BROWSERQ_HEARTBEAT_SECONDS="1",
            BROWSERQ_LEASE_SECONDS="6",
            BROWSERQ_MAINTENANCE_INTERVAL_SECONDS="1",
            BROWSERQ_MODEL_RETRY_BASE_DELAY="0.05",
            OPENAI_BASE_URL=self.model_base_url,
            OPENAI_API_KEY="test-key",
            PYTHONUNBUFFERED="1",
        )
        if self.db_url:
            env["BROWSERQ_DATABASE_URL"] = self.db_url
            env["BROWSERQ_BROKER_URL"] = self.broker_url or ""
        env.update(self.env_extra)
        return env

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", cli_module(), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self) -> Stack:
        self.cli("migrate")
        self.key = self.cli("keys", "create", "tests").strip().splitlines()[-1]
        self.procs.append(self._spawn("api", "--port", str(self.port), log="api"))
        for i in range(self.workers):
            self.start_worker(i)
        self._wait_ready()
        return self

    def start_worker(self, i: int | None = None) -> subprocess.Popen:
        i = len(self.worker_procs) if i is None else i
        proc = self._spawn(*self._worker_args(i), log=f"worker{i}")
        self.worker_procs.append(proc)
        self.procs.append(proc)
        return proc

    def _worker_args(self, i: int) -> list[str]:
        kind = ["--browser-kind", self.worker_kinds[i]] if i < len(self.worker_kinds) and self.worker_kinds[i] else []
        return ["worker", "--concurrency", str(self.concurrency), *kind]

    def kill_worker(self, i: int, sig: int = signal.SIGKILL, whole_group: bool = True) -> None:
        """Kill worker `i`: SIGKILL to its whole process group is a container or VM
        dying; SIGTERM to the main process alone is `docker stop`."""
        proc = self.worker_procs[i]
        if whole_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    def restart_worker(self, i: int) -> subprocess.Popen:
        """Start worker `i` again (after a kill), logging to the same file."""
        proc = self._spawn(*self._worker_args(i), log=f"worker{i}")
        self.worker_procs[i] = proc
        self.procs.append(proc)
        return proc

    def worker_running(self, task_id: str, attempt: int = 1) -> int | None:
        """Which worker's log says it started this attempt of the task, if any."""
        needle = f"task {task_id}: attempt {attempt} started"
        for i in range(len(self.worker_procs)):
            if needle in self.log(f"worker{i}"):
                return i
        return None

    def _spawn(self, *args: str, log: str) -> subprocess.Popen:
        out = open(self.data_dir / f"{log}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", cli_module(), *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def diagnosis(self, lines: int = 40) -> str:
        """What a failed test shows of this stack: whether each process still runs, and
        the last lines of each log (a worker that died or stopped taking tasks says so)."""
        parts = []
        for proc in self.procs:
            state = "running" if proc.poll() is None else f"exited {proc.returncode}"
            parts.append(f"{' '.join(map(str, proc.args[3:5]))} (pid {proc.pid}): {state}")
        queue = self.data_dir / "broker" / "queue"
        if queue.is_dir():  # the filesystem broker: what waits, by kind of message
            waiting = Counter(f.name.split(".", 1)[-1].removesuffix(".msg") for f in queue.iterdir())
            parts.append(f"queue folder: {dict(waiting) or 'empty'}")
        for path in sorted(self.data_dir.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}, last {len(tail)} lines ---\n" + "\n".join(tail))
        return f"{self.kind} stack in {self.data_dir}\n" + "\n".join(parts)

    def _wait_ready(self, timeout: float = 90) -> None:
        # A loaded machine (a full suite beside other work) was seen to take over 30 s.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/ping", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the API did not start:\n" + self.log("api"))

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {key or self.key}"}, timeout=30
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.db_url:
            drop_postgres_db(self.db_url)
        if self.broker_url:
            release_redis_db(self.broker_url)


def poll(what: str, check: Callable[[], T | None], timeout: float = 30, every: float = 0.1) -> T:
    """Call `check` until it returns something truthy and return that; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def wait_for(client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 60) -> dict:
    """Poll the task until its status is one of `statuses`; returns the whole task."""
    deadline = time.monotonic() + timeout
    task: dict = {}
    while time.monotonic() < deadline:
        task = client.get(f"/task/{task_id}").json()
        if task.get("status") in statuses:
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not reach {statuses} in {timeout}s; last: {task}")
