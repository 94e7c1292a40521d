"""The `browserq` command: run the service (embedded or as separate API and
worker processes), apply migrations, make API keys."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from shared.settings import get_settings, reset_settings_cache

app = typer.Typer(help="browserq: self-hosted browser agents behind the Browser Use v1 API.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def migrate() -> None:
    """Apply the database migrations (idempotent)."""
    from shared.migrate import upgrade_database

    upgrade_database()
    typer.echo(f"database is up to date: {get_settings().resolved_database_url.split('@')[-1]}")


@keys_app.command("create")
def keys_create(
    name: str,
    budget: Annotated[str | None, typer.Option(help="USD the key may spend on model tokens (default: no limit)")] = None,
) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from shared.db import session_scope
    from shared.integrations_cli import parse_usd
    from shared.keys import create_api_key

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
) -> None:
    """Run the HTTP API (with the maintenance loop)."""
    import uvicorn

    from api.main import create_app

    _logging()
    uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c", help="Browser slots")] = None,
) -> None:
    """Run a Celery worker: one warm Chromium per pool process."""
    # SIGTERM (docker stop, systemd) then starts Celery's soft shutdown: running tasks
    # get worker_soft_shutdown_timeout, then are handed back, instead of a warm shutdown
    # that waits on a long task until it is SIGKILLed. billiard reads this at import.
    os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
    import worker.tasks  # noqa: F401  (registers the task bodies)
    from shared.celery_app import QUEUE, WEBHOOK_QUEUE, celery_app

    slots = concurrency or get_settings().worker_concurrency
    celery_app.worker_main(
        ["worker", "--loglevel=INFO", f"--concurrency={slots}", f"--queues={QUEUE},{WEBHOOK_QUEUE}", "--pool=prefork",
         "--without-gossip", "--without-mingle"]
    )


def _embedded_env(data_dir: Path) -> None:
    """Defaults for one machine: SQLite, the filesystem broker, a kept secret key,
    and the browser allowed to reach this host's own pages."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BROWSERQ_DATA_DIR", str(data_dir.resolve()))
    os.environ.setdefault("BROWSERQ_ALLOW_PRIVATE_HOSTS", '["127.0.0.1", "localhost"]')
    key_file = data_dir / "secret.key"
    if not key_file.exists():
        from shared.crypto import new_secret_key

        key_file.write_text(new_secret_key())
        key_file.chmod(0o600)
    os.environ.setdefault("BROWSERQ_SECRET_KEY", key_file.read_text().strip())
    reset_settings_cache()


def _dev_key(data_dir: Path) -> str:
    """The embedded mode's own key, kept in the data folder so it survives restarts."""
    from shared.db import session_scope
    from shared.keys import create_api_key, hash_key
    from shared.models import ApiKey

    key_file = data_dir / "api-key"
    with session_scope() as session:
        if key_file.exists():
            key = key_file.read_text().strip()
            if session.query(ApiKey).filter(ApiKey.key_hash == hash_key(key)).first():
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
) -> None:
    """Run everything on this machine: SQLite, a serverless broker, the API and a worker."""
    _embedded_env(data_dir)
    os.environ.setdefault("BROWSERQ_PUBLIC_URL", f"http://127.0.0.1:{port}")
    reset_settings_cache()
    _logging()
    from shared.migrate import upgrade_database

    upgrade_database()
    key = _dev_key(data_dir)
    worker_proc = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "worker", "--concurrency", str(concurrency)], env=os.environ.copy()
    )
    settings = get_settings()
    if not any(settings.provider_configured(p) for p in ("openai", "anthropic", "gemini")):
        typer.secho("No model is configured: set OPENAI_API_KEY or OPENAI_BASE_URL (or ANTHROPIC_API_KEY).",
                    fg="yellow")
    typer.secho(f"browserq is starting on http://127.0.0.1:{port}/api/v1  (docs: /docs)", fg="green")
    typer.secho(f"API key: {key}", fg="green")
    try:
        import uvicorn

        from api.main import create_app

        uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="info")
    finally:
        worker_proc.send_signal(signal.SIGTERM)
        try:
            worker_proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker_proc.kill()


from shared import integrations_cli  # noqa: E402

integrations_cli.register(app, keys_app)  # keys budget, webhook set/show/remove

if __name__ == "__main__":
    app()
