"""Flower, Celery's monitor, on browserq's Celery app: which workers are up,
what each runs, task history. It sees tasks through the events workers send
(`worker_send_task_events` and `task_send_sent_event` are on in
shared/celery_app.py) and is always behind basic auth."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shared.settings import Settings

# Transports whose events and remote control Flower can follow. Kombu's SQL
# transport has no fanout: Flower would be blind there.
FLOWER_BROKERS = ("redis", "rediss", "sentinel", "amqp", "amqps", "pyamqp", "filesystem")
# Flower's inspector runs up to 8 broadcasts in threads, each taking two pooled
# connections (one for the reply consumer, one for the producer): with a smaller
# pool the threads wait on each other forever and /api/workers?refresh=1 hangs.
FLOWER_POOL_LIMIT = 32


class FlowerUnavailable(Exception):
    """Flower cannot run with these settings; the message says what to change."""


def check_flower_settings(settings: Settings) -> str:
    """The basic-auth value to give Flower, or FlowerUnavailable saying what to set."""
    scheme = settings.resolved_broker_url.split(":", 1)[0].split("+")[0].lower()
    if scheme not in FLOWER_BROKERS:
        raise FlowerUnavailable(
            f"Flower cannot follow the {scheme!r} broker (it needs events and remote control): "
            "use Redis (BROWSERQ_BROKER_URL=redis://host:6379/0) or the filesystem broker."
        )
    auth = (settings.flower_basic_auth or os.environ.get("FLOWER_BASIC_AUTH") or "").strip()  # Flower's own name too
    if not auth:
        raise FlowerUnavailable(
            "Flower is only run behind a login: set BROWSERQ_FLOWER_BASIC_AUTH=user:password "
            "(several logins: comma-separated)."
        )
    for login in auth.split(","):
        user, _, password = login.partition(":")
        if not user.strip() or not password:
            raise FlowerUnavailable(
                "BROWSERQ_FLOWER_BASIC_AUTH must look like user:password (comma-separated for more)"
            )
    return auth


def flower_argv(host: str, port: int, url_prefix: str | None) -> list[str]:
    """Celery command-line arguments; the login goes through FLOWER_BASIC_AUTH, not argv (`ps` shows argv)."""
    argv = ["flower", f"--address={host}", f"--port={port}"]
    if url_prefix:
        argv.append(f"--url_prefix={url_prefix.strip('/')}")
    return argv


def flower_env(auth: str) -> dict[str, str]:
    return {"FLOWER_BASIC_AUTH": auth}


def dev_login(data_dir: Path) -> str:
    """`browserq dev`'s Flower login: made once, kept in the data folder so it survives restarts."""
    file = data_dir / "flower-login"
    if file.exists():
        return file.read_text().strip()
    login = f"admin:{secrets.token_urlsafe(12)}"
    file.write_text(login)
    os.chmod(file, 0o600)
    return login


def forget_event_listeners(broker_folder: Path) -> int:
    """With the filesystem broker, an event listener (Flower) that did not shut
    down cleanly stays bound to the events exchange, and every worker heartbeat
    (one every 2 s) is then written to a file nobody reads. Called while nothing
    of the service runs (`browserq dev` start-up); returns the files removed."""
    (broker_folder / "control" / "celeryev.exchange").unlink(missing_ok=True)
    removed = 0
    for stale in (broker_folder / "queue").glob("*.celeryev.*.msg"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed
