"""Files in any S3-compatible store (AWS S3, MinIO, Ceph, R2...). Clients get
real presigned URLs, so file bytes never pass through the API."""

from __future__ import annotations

import builtins  # `list` is also a method of Storage: annotations in its class body say builtins.list
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.storage.base import ObjectInfo, Storage, StorageError, guess_type


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None,
        public_endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        url_seconds: float,
    ) -> None:
        self.bucket = bucket
        self.url_seconds = int(url_seconds)
        common: dict[str, Any] = dict(
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
        self.client = boto3.client("s3", endpoint_url=endpoint_url, **common)
        # URLs are signed for the address clients use, which may differ from the one servers use.
        self.signer = boto3.client("s3", endpoint_url=public_endpoint_url or endpoint_url, **common)
        self._bucket_checked = False
        self._lock = threading.Lock()

    def _call(self, method: str, **params: Any) -> Any:
        self._ensure_bucket()
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **params)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 {method} failed: {exc}") from exc

    def _ensure_bucket(self) -> None:
        """Create the bucket on first use if it is missing (MinIO in docker-compose starts empty)."""
        if self._bucket_checked:
            return
        with self._lock:
            if self._bucket_checked:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                    raise StorageError(f"S3 bucket {self.bucket!r} cannot be used: {exc}") from exc
                try:
                    self.client.create_bucket(Bucket=self.bucket)
                except ClientError as create_exc:
                    # Another process (the API and a worker start together) made it meanwhile.
                    if create_exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
                        self._bucket_checked = True
                        return
                    raise StorageError(
                        f"S3 bucket {self.bucket!r} is missing and cannot be created: {create_exc}"
                    ) from create_exc
            except BotoCoreError as exc:
                raise StorageError(f"S3 is unreachable: {exc}") from exc
            self._bucket_checked = True

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._call("put_object", Key=key, Body=data, ContentType=content_type)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        with path.open("rb") as body:
            self._call("put_object", Key=key, Body=body, ContentType=content_type or guess_type(path.name))

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self._call("get_object", Key=key)["Body"].read()
        return body

    def stat(self, key: str) -> ObjectInfo | None:
        self._ensure_bucket()
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"S3 head_object failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 is unreachable: {exc}") from exc
        return ObjectInfo(key, int(head["ContentLength"]), head["LastModified"])

    def list(self, prefix: str) -> list[ObjectInfo]:
        self._ensure_bucket()
        found: list[ObjectInfo] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(ObjectInfo(item["Key"], int(item["Size"]), item["LastModified"]))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 list failed: {exc}") from exc
        return sorted(found, key=lambda o: o.key)

    def delete(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})

    def url_for_get(self, key: str, download_name: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = _attachment(download_name)
        url: str = self.signer.generate_presigned_url("get_object", Params=params, ExpiresIn=self.url_seconds)
        return url

    def url_for_put(self, key: str, content_type: str, size: int | None = None) -> str:
        """S3 cannot cap the size of a presigned PUT; with `size` the length is
        signed (exact), else the size is checked when the file is used."""
        self._ensure_bucket()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        if size is not None:
            params["ContentLength"] = size
        url: str = self.signer.generate_presigned_url("put_object", Params=params, ExpiresIn=self.url_seconds)
        return url


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename*=UTF-8''{quote(name)}"
