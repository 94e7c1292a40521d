"""Object storage behind one interface: a local folder (default) or any
S3-compatible store, chosen by `BROWSERQ_STORAGE_BACKEND`."""

from __future__ import annotations

from functools import lru_cache

from shared.settings import Settings, get_settings
from shared.storage.base import (
    UPLOAD_MAX_BYTES,
    ObjectInfo,
    Storage,
    StorageError,
    StorageNotConfigured,
    guess_type,
)
from shared.storage.names import FileNameError, check_file_name

__all__ = [
    "UPLOAD_MAX_BYTES",
    "FileNameError",
    "ObjectInfo",
    "Storage",
    "StorageError",
    "StorageNotConfigured",
    "check_file_name",
    "get_storage",
    "guess_type",
    "make_storage",
]


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise StorageNotConfigured("BROWSERQ_STORAGE_BACKEND=s3 needs BROWSERQ_S3_BUCKET")
        from shared.storage.s3 import S3Storage

        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            public_endpoint_url=settings.s3_public_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            url_seconds=settings.signed_url_seconds,
        )
    from shared.storage.local import LocalStorage
    from shared.storage.signing import signing_key

    try:
        key: bytes | None = signing_key(settings.url_signing_key, settings.secret_key)
    except StorageNotConfigured:
        key = None  # workers only store files; the API says what to set when it must sign a URL
    return LocalStorage(settings.resolved_storage_dir, settings.public_url, key, settings.signed_url_seconds)


@lru_cache
def get_storage() -> Storage:
    return make_storage(get_settings())
