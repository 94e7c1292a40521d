"""Logging for every browserq process: JSON lines for machines (production),
readable lines for people (`browserq dev`), and each line written while a task
runs carries that task's id, so one task's story can be pulled out of a
worker's log with one filter (`jq 'select(.task_id == "...")'`).

The task id travels in a context variable: set once around a task's work
(`bind_task_id`), it follows every coroutine and `asyncio.to_thread` call the
task makes, and a logging.Filter copies it onto each record."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, ParamSpec, TypeVar

LogFormat = Literal["json", "text"]
P = ParamSpec("P")
R = TypeVar("R")

current_task_id: ContextVar[str | None] = ContextVar("browserq_task_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(task_label)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "task_id",
    "task_label",
    "color_message",  # uvicorn's ANSI copy of the message
}


class TaskIdFilter(logging.Filter):
    """Copies the current task id onto the record (`record.task_id`, None outside a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        task_id = getattr(record, "task_id", None) or current_task_id.get()
        record.task_id = task_id
        record.task_label = f" [task {task_id}]" if task_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, task_id, plus any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "task_id": getattr(record, "task_id", None),
            "pid": record.process,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(log_format: LogFormat, level: str = "INFO") -> None:
    """Installs the one root handler (stderr). Celery leaves a configured root
    logger alone (`worker_hijack_root_logger=False`) and its loggers propagate
    here, so its lines come out in the same format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TaskIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)


def bind_task_id(func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """For `async def f(task_id, ...)`: every log line written while f runs names the task.
    The result is still a coroutine function (not just any awaitable), so it can be given
    to whatever runs coroutines (asyncio.run, the worker's runtime.run)."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        task_id = kwargs.get("task_id", args[0] if args else None)
        with task_logging(str(task_id) if task_id else None):
            return await func(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def task_logging(task_id: str | None) -> Iterator[None]:
    """`bind_task_id` for a block of plain code (the Celery task claiming its row)."""
    token = current_task_id.set(task_id)
    try:
        yield
    finally:
        current_task_id.reset(token)


@contextlib.contextmanager
def held_back(logger_name: str, below: int = logging.WARNING) -> Iterator[None]:
    """Keeps the lines of `logger_name` (and its children) under `below` to itself unless
    the block fails: a person starting `browserq dev` wants its URL, not a page of
    alembic's progress, yet when a migration breaks, that progress says how far it got.
    Lines at `below` and up pass at once. Held at the root's handlers, where every
    logger's lines arrive, including loggers made inside the block."""
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        ours = record.name == logger_name or record.name.startswith(f"{logger_name}.")
        if ours and record.levelno < below:
            if not held or held[-1] is not record:  # one record, seen by each root handler
                held.append(record)
            return False
        return True

    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(hold)
    try:
        yield
    except BaseException:
        for handler in handlers:
            handler.removeFilter(hold)
        for record in held:
            logging.getLogger(record.name).handle(record)
        raise
    finally:
        for handler in handlers:
            handler.removeFilter(hold)
