"""The embedded broker: kombu's filesystem transport, made safe for the several
processes of one host (the API publishes, workers consume, Flower listens).

kombu 5.7's transport creates a message file and only then writes it, and its
reader moves and reads files without a lock. A worker that polls in between
reads an empty message, json raises, and Celery's consumer stops the worker
("Unrecoverable error: JSONDecodeError", exit code 0): every later task stays
`created`. That is what a loaded CI machine did to a whole run. Its exchange
tables have the same window (the file is created empty, then locked).

Here every file appears whole, by a rename within its folder; a consumer takes a
message by renaming it, so exactly one consumer gets it; and a file that is not
a message (a truncated write on a full disk, a stray file) is moved to
`broker/corrupt/` and logged instead of stopping the worker. `filesystem://`
resolves to this transport in every process that imports shared.celery_app."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger("browserq.broker")

PARTIAL = ".part"  # a file being written; never matches a queue's `*.<queue>.msg`


def write_whole(folder: Path, name: str, data: bytes) -> None:
    """Make `folder/name` appear with all of `data` at once: written beside it under
    a name no reader takes, then renamed (atomic within one filesystem)."""
    partial = folder / f".{uuid.uuid4()}{PARTIAL}"
    try:
        with open(partial, "wb") as out:
            out.write(data)
        os.replace(partial, folder / name)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ChannelError(f"Cannot add file {name!r} to {folder}") from exc


class Channel(filesystem.Channel):
    # kombu's two base classes name the second argument differently (message, payload).
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        write_whole(Path(self.data_folder_out), name, str_to_bytes(dumps(payload)))

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        taken_folder = Path(self.processed_folder)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            taken = taken_folder / name
            try:
                os.rename(folder / name, taken)  # only one consumer's rename succeeds
            except OSError:
                continue  # another consumer took it
            try:
                payload = taken.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except ValueError:
                self._set_aside(taken, len(payload))
                continue
            if not self.store_processed:
                taken.unlink(missing_ok=True)
            return message
        raise Empty()

    def _set_aside(self, file: Path, size: int) -> None:
        corrupt = Path(self.processed_folder).parent / "corrupt"
        corrupt.mkdir(exist_ok=True)
        os.replace(file, corrupt / file.name)
        log.error("broker: %s is not a message (%d bytes); moved to %s", file.name, size, corrupt)

    def get_table(self, exchange: str) -> list[filesystem.exchange_queue_t]:
        file = self._exchange_file(exchange)
        try:
            data = file.read_bytes()  # whole: tables are replaced, never rewritten in place
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        return [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(data))]

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange):
            table = self.get_table(exchange)
            if entry not in table:
                self._write_table(exchange, [entry, *table])

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange):
            table = self.get_table(exchange)
            if entry in table:
                table.remove(entry)
                self._write_table(exchange, table)

    @contextlib.contextmanager
    def _table_lock(self, exchange: str) -> Iterator[None]:
        """Writers of one exchange's table take turns (readers need no lock)."""
        file = self._exchange_file(exchange)
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file.with_name(file.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write_table(self, exchange: str, table: list[filesystem.exchange_queue_t]) -> None:
        file = self._exchange_file(exchange)
        write_whole(file.parent, file.name, str_to_bytes(dumps(table)))


class Transport(filesystem.Transport):
    Channel = Channel
