"""The storage interface: what the API and the workers need from a place to
keep files, whatever the backend (a local folder, or an S3-compatible store)."""

from __future__ import annotations

import builtins  # `list` is also a method of Storage: annotations in its class body say builtins.list
import mimetypes
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

UPLOAD_MAX_BYTES = 10 * 1024 * 1024


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation."""


class StorageNotConfigured(StorageError):
    """A setting the backend needs is missing; the message names it."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class Storage(ABC):
    """Keys are '/'-separated paths made by `shared.storage.names`, never by users.
    Methods are blocking; async callers run them in a thread."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        self.put_bytes(key, path.read_bytes(), content_type or guess_type(path.name))

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    def download(self, key: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.get_bytes(key))

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and age, or None when there is no such object."""

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object under `prefix`, sorted by key."""

    @abstractmethod
    def delete(self, keys: builtins.list[str]) -> None: ...

    @abstractmethod
    def url_for_get(self, key: str, download_name: str | None = None) -> str:
        """A signed URL that downloads the object until it expires."""

    @abstractmethod
    def url_for_put(self, key: str, content_type: str, size: int | None = None) -> str:
        """A signed URL that stores the body of one HTTP PUT as the object."""
