"""Files in a local folder, served by the API itself through signed URLs.
The default: one machine, nothing to run."""

from __future__ import annotations

import builtins  # `list` is also a method of Storage: annotations in its class body say builtins.list
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from shared.storage import signing
from shared.storage.base import UPLOAD_MAX_BYTES, ObjectInfo, Storage, StorageError, StorageNotConfigured


class LocalStorage(Storage):
    def __init__(self, root: Path, public_url: str, key: bytes | None, url_seconds: float) -> None:
        self.root = root.resolve()
        self.public_url = public_url
        self._key = key
        self.url_seconds = url_seconds

    def path(self, key: str) -> Path:
        """The file behind `key`, refusing any key that would leave the root."""
        if not key or "\x00" in key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
            raise StorageError(f"invalid storage key {key!r}")
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"invalid storage key {key!r}")
        return path

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no file {key!r} in storage") from None

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self.path(key).stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def list(self, prefix: str) -> list[ObjectInfo]:
        folder = self.root / prefix.rstrip("/") if prefix else self.root
        if not folder.resolve().is_relative_to(self.root) or not folder.is_dir():
            return []
        found = []
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.startswith(".part-"):
                st = path.stat()
                key = path.relative_to(self.root).as_posix()
                found.append(ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        return sorted(found, key=lambda o: o.key)

    def delete(self, keys: builtins.list[str]) -> None:
        for key in keys:
            path = self.path(key)
            path.unlink(missing_ok=True)
            self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove folders left empty, up to the root."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def verify(self, method: str, key: str, query: dict[str, str], extra: tuple[str, ...]) -> dict[str, str]:
        """Checks a signed URL this storage made; raises signing.BadSignature."""
        return signing.verify(self._signing_key(), method, key, query, extra)

    def _signing_key(self) -> bytes:
        if self._key is None:
            raise StorageNotConfigured(
                "file URLs cannot be signed: set BROWSERQ_URL_SIGNING_KEY "
                "(or BROWSERQ_SECRET_KEY, from which one is derived)"
            )
        return self._key

    def url_for_get(self, key: str, download_name: str | None = None) -> str:
        return signing.sign(
            self._signing_key(), self.public_url, "GET", key, self.url_seconds, name=download_name or ""
        )

    def url_for_put(self, key: str, content_type: str, size: int | None = None) -> str:
        limit = str(min(size, UPLOAD_MAX_BYTES) if size is not None else UPLOAD_MAX_BYTES)
        return signing.sign(
            self._signing_key(), self.public_url, "PUT", key, self.url_seconds, ct=content_type, max=limit
        )
