"""Log lines: JSON for machines, text for people, and the task id on every
line written while a task's work runs (threads included)."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from shared.logs import JsonFormatter, TaskIdFilter, bind_task_id, configure_logging, held_back


def _capture(fmt: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TaskIdFilter())
    handler.setFormatter(fmt)
    logger = logging.getLogger("browserq.test_logs")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_lines_of_a_task_carry_its_id_in_json_even_from_threads() -> None:
    logger, stream = _capture(JsonFormatter())

    @bind_task_id
    async def work(task_id: str) -> None:
        logger.info("in the loop %d", 1)
        await asyncio.to_thread(logger.info, "in a thread")
        await asyncio.create_task(asyncio.sleep(0))
        logger.warning("with extra", extra={"step": 3})

    asyncio.run(work("task-123"))
    logger.info("after the task")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["task_id"] for line in lines] == ["task-123", "task-123", "task-123", None]
    assert lines[0]["message"] == "in the loop 1" and lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == "browserq.test_logs" and lines[0]["ts"].endswith("+00:00")
    assert lines[2]["step"] == 3


def test_exceptions_stay_on_one_json_line() -> None:
    logger, stream = _capture(JsonFormatter())
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "it failed" and "ValueError: boom" in entry["exc"]


def test_text_format_names_the_task() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("text")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]

        @bind_task_id
        async def work(task_id: str) -> None:
            logging.getLogger("browserq.worker").info("hello")

        asyncio.run(work("abc"))
        assert "INFO browserq.worker [task abc]: hello" in stream.getvalue()
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


def test_held_back_lines_show_only_when_the_block_fails() -> None:
    """dev's first screen: alembic's progress stays hidden, unless a migration fails."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("text")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        with held_back("alembic"):
            logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")
            logging.getLogger("alembic_other").info("not a child of alembic")
            logging.getLogger("alembic.env").warning("a warning passes at once")
        logging.getLogger("alembic").info("after the block")
        quiet = stream.getvalue()
        assert "Running upgrade" not in quiet
        assert "not a child of alembic" in quiet and "a warning passes at once" in quiet and "after the block" in quiet

        stream.truncate(0)
        with pytest.raises(RuntimeError), held_back("alembic"):
            logging.getLogger("alembic.runtime.migration").info("Running upgrade 0002 -> 0003")
            raise RuntimeError("the migration broke")
        assert stream.getvalue().count("Running upgrade 0002 -> 0003") == 1
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
