"""The `browserq` command: run the service (embedded or as separate API and
worker processes), apply migrations, make API keys."""

from __future__ import annotations

import gc
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.data_dir import (
    SECRET_KEY_FILE,
    DataDirOption,
    ensure_secret_key,
    fail,
    kept_secret_key,
    require_database,
    use_data_dir,
)
from cli.dev_procs import (
    announce_when_ready,
    child_of_this_process,
    end_dev_when_it_ends,
    exit_code,
    leave,
    starting_children,
    stop_children,
    stop_children_on_signals,
    stop_once_when_parent_gone,
    stopping,
    worker_child_of_this_process,
)
from shared.browser_kinds import BrowserKind
from shared.logs import LogFormat, configure_logging, held_back
from shared.settings import get_settings, reset_settings_cache

# Once dev's API has stopped (api_shutdown_grace_seconds), the worker's stop may take this
# long (its soft shutdown is 10 s), after which it is killed.
DEV_CHILD_GRACE = 20
app = typer.Typer(help="browserq: self-hosted browser agents behind the Browser Use v1 API.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _logging(default_format: LogFormat) -> None:
    """JSON lines unless BROWSERQ_LOG_FORMAT says otherwise (`dev` defaults to text)."""
    settings = get_settings()
    configure_logging(settings.log_format or default_format, settings.log_level.upper())


def _share_metrics(*, clear: bool = False) -> None:
    """This machine's browserq processes count metrics in one folder (before any metric exists)."""
    from shared.metrics_folder import share_metrics_folder

    # One folder per host: containers sharing a data volume must not share files keyed by pid.
    share_metrics_folder(get_settings().data_dir / "metrics" / socket.gethostname(), clear=clear)


@app.command()
def migrate(data_dir: DataDirOption = None) -> None:
    """Apply the database migrations (idempotent); makes the SQLite database if there is none."""
    from sqlalchemy.exc import OperationalError

    from shared.migrate import upgrade_database

    use_data_dir(data_dir)
    settings = get_settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    where = settings.resolved_database_url.split("@")[-1]
    try:
        upgrade_database()
    except OperationalError as exc:
        raise fail(f"cannot open the database {where}: {str(exc.orig).strip().splitlines()[0]}") from None
    typer.echo(f"database is up to date: {where}")


@keys_app.callback()
def keys(data_dir: DataDirOption = None) -> None:
    """Every keys command works on the database of --data-dir (or BROWSERQ_DATA_DIR), which must exist."""
    use_data_dir(data_dir)
    later = data_dir is None and any(a == "--data-dir" or a.startswith("--data-dir=") for a in sys.argv)
    if not later and not {"--help", "-h"} & set(sys.argv):  # `keys create NAME --data-dir X` checks it itself
        require_database()


@keys_app.command("create")
def keys_create(
    name: str,
    budget: Annotated[
        str | None, typer.Option(help="USD the key may spend on model tokens (default: no limit)")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from cli.admin import parse_usd
    from shared.db import session_scope
    from shared.keys import create_api_key

    if data_dir is not None:  # given after the command: `keys create NAME --data-dir X`
        use_data_dir(data_dir)
        require_database()

    budget_usd = parse_usd(budget) if budget is not None else None
    with session_scope() as session:
        row, key = create_api_key(session, name)
        row.budget_usd = budget_usd
        session.add(row)
    typer.echo(f"created key {row.prefix}... named {name!r}; it is shown only once:")
    typer.echo(key)


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    data_dir: DataDirOption = None,
) -> None:
    """Run the HTTP API (with the maintenance loop)."""
    use_data_dir(data_dir)
    ensure_secret_key()
    _share_metrics()
    _logging("json")
    _serve_api(host, port)


def _serve_api(host: str, port: int) -> None:
    """The API in this process until a signal stops it."""
    import uvicorn

    from api.main import create_app

    # A client holding a connection open (a slow search, a live view's stream) must not hold up the stop.
    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        timeout_graceful_shutdown=get_settings().api_shutdown_grace_seconds,
    )


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c", help="Tasks at once on this host")] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes", "-p", help="Worker processes sharing them (default: one per 8 tasks, up to one a core)"
        ),
    ] = None,
    browser_kind: Annotated[
        BrowserKind | None,
        typer.Option(
            "--browser-kind",
            "-k",
            help="The kind of browser it serves: stealth, headful (under Xvfb) or lean "
            "(default: BROWSERQ_BROWSER_KIND, else stealth)",
        ),
    ] = None,
) -> None:
    """Run a Celery worker: N tasks at once, in processes of one event loop and one warm Chromium each."""
    # SIGTERM (docker stop, systemd) then starts Celery's soft shutdown: running tasks
    # get worker_soft_shutdown_timeout, then are handed back, instead of a warm shutdown
    # that waits on a long task until it is SIGKILLed. billiard reads this at import.
    os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
    stop_once_when_parent_gone()  # `dev` died: one SIGTERM, however many times the kernel says so
    key_file = get_settings().data_dir / SECRET_KEY_FILE
    if not get_settings().secret_key and key_file.exists():  # the one `api --data-dir` keeps
        os.environ["BROWSERQ_SECRET_KEY"] = key_file.read_text().strip()
        reset_settings_cache()
    _share_metrics()
    _logging("json")
    from celery import signals as celery_signals

    import worker.tasks  # noqa: F401  (registers the task bodies)
    from shared.browser_kinds import queue_for
    from shared.celery_app import WEBHOOK_QUEUE, celery_app
    from shared.worker_presence import Presence
    from worker import runtime
    from worker.browser.chromium import missing_for

    soft_timeout = float(celery_app.conf.worker_soft_shutdown_timeout or 0)
    celery_signals.worker_shutting_down.connect(lambda how="", **_: stopping(how, soft_timeout), weak=False)

    settings = get_settings()
    slots = concurrency or settings.worker_concurrency
    try:
        procs = worker_processes(slots, processes or settings.worker_processes, os.cpu_count() or 1)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    runtime.TASKS_PER_PROCESS = slots // procs  # read by the pool children, which fork after this
    kind = browser_kind or settings.browser_kind
    if missing := missing_for(kind, settings):
        typer.secho(f"browserq worker: {missing}", fg="red", err=True)
        raise typer.Exit(2)
    runtime.BROWSER_KIND = kind
    logging.getLogger("browserq.worker").info(
        "worker: %d tasks at once, in %d processes of %d, browser kind %s", slots, procs, slots // procs, kind
    )
    if settings.worker_metrics_port:
        from shared.metrics import serve_worker_metrics

        serve_worker_metrics(settings.worker_metrics_port)
    controllers = []
    celery_signals.worker_init.connect(lambda sender, **_kw: controllers.append(sender), weak=False)
    presence = Presence(kind).start()  # run-task accepts tasks of this kind from now on
    # The pool processes fork from this one: objects of the imports so far move to the
    # collector's permanent generation, so a child's collections never write their headers
    # and those pages stay shared with this process instead of being copied into each child.
    gc.freeze()
    try:
        celery_app.worker_main(
            [
                "worker",
                f"--loglevel={settings.log_level.upper()}",
                f"--concurrency={procs}",
                f"--queues={queue_for(kind)},{WEBHOOK_QUEUE}",
                "--pool=prefork",
                "--without-gossip",
                "--without-mingle",
            ]
        )
        code = 0
    except SystemExit as exc:
        code = exit_code(exc)
    presence.stop()
    # worker_main drops the worker's exit code: a worker that stopped on an
    # "Unrecoverable error" exited 0, so a process manager never restarted it.
    if controllers and controllers[0].exitcode:
        code = controllers[0].exitcode
    # Celery is done and its pool stopped: leave without multiprocessing's exit-time
    # finalizers, which can wait forever on a lock a killed pool child held.
    leave(code)


# Tasks one worker process hosts before the default adds another (on another core).
TASKS_PER_PROCESS = 8


def worker_processes(concurrency: int, asked: int, cores: int) -> int:
    """How many processes share `concurrency` tasks: `asked`, or by default the fewest, up to
    one a core and dividing them evenly, that host at most TASKS_PER_PROCESS each (the most
    when none does), so --concurrency keeps meaning tasks at once on the host. Each process
    costs a Python, a Playwright driver and a Chromium's own processes (~250 MiB), and one
    carries 8 agents' steps at the same CPU a step as two (docs/benchmarks.md)."""
    if asked:
        if asked > concurrency or concurrency % asked:
            raise ValueError(
                f"--processes {asked} must divide --concurrency {concurrency} evenly "
                f"(e.g. --processes {max(d for d in range(1, concurrency + 1) if concurrency % d == 0 and d <= asked)})"
            )
        return asked
    fits = [d for d in range(1, min(cores, concurrency) + 1) if concurrency % d == 0]
    return next((d for d in fits if concurrency // d <= TASKS_PER_PROCESS), fits[-1])


@app.command()
def flower(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 5555,
    url_prefix: Annotated[str | None, typer.Option(help="Serve under this path, e.g. flower (behind a proxy)")] = None,
) -> None:
    """Run Flower, Celery's monitor, behind the login in BROWSERQ_FLOWER_BASIC_AUTH."""
    from cli.flower import FLOWER_POOL_LIMIT, FlowerUnavailable, check_flower_settings, flower_argv, flower_env

    try:
        auth = check_flower_settings(get_settings())
    except FlowerUnavailable as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    _logging("json")
    os.environ.update(flower_env(auth))
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # Flower serves its own /metrics; keep it out of browserq's
    from shared.celery_app import celery_app

    # Flower inspects workers from several threads at once, each holding a pooled connection
    # while its producer takes another: the API's small pool would deadlock it.
    celery_app.conf.broker_pool_limit = FLOWER_POOL_LIMIT
    celery_app.start(flower_argv(host, port, url_prefix))


def _start_dev_flower(data_dir: Path, port: int) -> subprocess.Popen[bytes] | None:
    """`dev --flower`: Flower in its own process, with a login made for this data folder."""
    from cli.flower import FlowerUnavailable, check_flower_settings, dev_login

    os.environ.setdefault("BROWSERQ_FLOWER_BASIC_AUTH", dev_login(data_dir))
    reset_settings_cache()
    try:
        login = check_flower_settings(get_settings())
    except FlowerUnavailable as exc:
        typer.secho(f"Flower not started: {exc}", fg="yellow")
        return None
    user, _, password = login.split(",")[0].partition(":")
    typer.secho(f"Flower: http://127.0.0.1:{port}  (user {user}, password {password})", fg="green")
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "flower", "--port", str(port)],
        env=os.environ.copy(),
        preexec_fn=child_of_this_process(),
    )


def _embedded_env(data_dir: Path) -> None:
    """Defaults for one machine: SQLite, the filesystem broker, a kept secret key,
    and the browser allowed to reach this host's own pages."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BROWSERQ_DATA_DIR", str(data_dir.resolve()))
    os.environ.setdefault("BROWSERQ_ALLOW_PRIVATE_HOSTS", '["127.0.0.1:*", "localhost:*"]')
    os.environ.setdefault("BROWSERQ_SECRET_KEY", kept_secret_key(data_dir))
    reset_settings_cache()


def _dev_key(data_dir: Path) -> str:
    """The embedded mode's own key, kept in the data folder so it survives restarts."""
    from sqlmodel import col

    from shared.db import session_scope
    from shared.keys import create_api_key, hash_key
    from shared.models import ApiKey

    key_file = data_dir / "api-key"
    with session_scope() as session:
        if key_file.exists():
            key = key_file.read_text().strip()
            if session.query(ApiKey).filter(col(ApiKey.key_hash) == hash_key(key)).first():
                return key
        _row, key = create_api_key(session, "dev")
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port for the API")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the database, queue and files live")] = Path(".browserq"),
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Browser slots")] = 2,
    with_flower: Annotated[bool, typer.Option("--flower", help="Also run Flower (Celery's monitor)")] = False,
    flower_port: Annotated[int, typer.Option(help="Port for Flower")] = 5555,
    browser_kind: Annotated[
        BrowserKind | None,
        typer.Option("--browser-kind", "-k", help="The worker's kind of browser, and the tasks' default"),
    ] = None,
) -> None:
    """Run everything on this machine: SQLite, a serverless broker, the API and a worker."""
    if browser_kind:  # the API's default and the worker's kind alike
        os.environ["BROWSERQ_BROWSER_KIND"] = browser_kind
    _embedded_env(data_dir)
    os.environ.setdefault("BROWSERQ_PUBLIC_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("BROWSERQ_LOG_FORMAT", "text")  # a person reads these; the worker inherits it
    reset_settings_cache()
    _share_metrics(clear=True)  # nothing of this machine's service runs yet: start the counts afresh
    if get_settings().resolved_broker_url.startswith("filesystem"):
        from cli.flower import forget_event_listeners

        forget_event_listeners(get_settings().broker_folder)
    _logging("text")
    with held_back("alembic"):  # its INFO lines (at import too) only when a migration fails
        from shared.migrate import upgrade_database

        upgrade_database()
    key = _dev_key(data_dir)
    settings = get_settings()
    if not any(settings.provider_configured(p) for p in ("openai", "anthropic", "gemini", "llama")):
        typer.secho(
            "No model is configured: set OPENAI_API_KEY or OPENAI_BASE_URL (or ANTHROPIC_API_KEY).", fg="yellow"
        )
    children: list[subprocess.Popen[bytes]] = []
    stop_children_on_signals()  # before any child: a signal must never leave one behind
    try:
        with starting_children():
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli", "worker", "--concurrency", str(concurrency)],
                    env=os.environ.copy(),
                    preexec_fn=worker_child_of_this_process(),
                )
            )
        end_dev_when_it_ends(children[0], "worker")
        if with_flower:
            with starting_children():
                if (flower_proc := _start_dev_flower(data_dir, flower_port)) is not None:
                    children.append(flower_proc)
        announce_when_ready(
            f"http://127.0.0.1:{port}",
            [
                (f"browserq is running on http://127.0.0.1:{port}/api/v1  (docs: /docs, metrics: /metrics)", "green"),
                (f"API key: {key}", "green"),
            ],
        )
        _serve_api("127.0.0.1", port)
    finally:
        stop_children(children, grace=DEV_CHILD_GRACE)


from cli import admin, client  # noqa: E402

client.register(app)  # the client commands: run, tasks, follow, stop, pause, resume, answer, export
admin.register(app, keys_app)  # keys budget, webhook set/show/remove, keys list, keys revoke


@app.command()
def mcp(url: client.UrlOption = client.DEFAULT_URL, key: client.KeyOption = None) -> None:
    """An MCP server over stdio, for Claude Desktop, Cursor and other MCP clients: its tools run and
    steer tasks on the browserq server at --url / BROWSERQ_URL with --key / BROWSERQ_API_KEY."""
    from api.mcp_server import run_stdio

    key = key or client.default_key()
    if not key:
        client.fail("no API key: set BROWSERQ_API_KEY in the MCP client's config (`browserq keys create NAME`)")
    run_stdio(url, key)


if __name__ == "__main__":
    app()
