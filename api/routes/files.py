"""Files: upload URLs, a task's screenshots, recordings, GIF and output files,
and (local backend) the signed file URLs the API serves itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.deps import OwnerId, SessionDep
from api.file_rules import check_upload_request, checked_name
from api.owned import GONE, NOT_FOUND, get_task_with_files
from api.summary_gif import build_gif
from shared.models import Step
from shared.storage import UPLOAD_MAX_BYTES, Storage, get_storage, guess_type, names, signing
from shared.storage.local import LocalStorage

router = APIRouter(tags=["files"])
StorageDep = Annotated[Storage, Depends(get_storage)]


class UploadUrlRequest(BaseModel):
    file_name: str = Field(max_length=1000)
    content_type: str = Field(min_length=3, max_length=200)
    # (ext) when given, the exact size is part of the signature (S3 checks it on the PUT).
    size_bytes: int | None = None


class UploadUrlResponse(BaseModel):
    upload_url: str


class ScreenshotsResponse(BaseModel):
    screenshots: list[str]


class MediaResponse(BaseModel):
    recordings: list[str]


class GifResponse(BaseModel):
    gif: str | None


class DownloadUrlResponse(BaseModel):
    download_url: str


@router.post("/uploads/presigned-url", response_model=UploadUrlResponse)
def presigned_upload_url(body: UploadUrlRequest, owner_id: OwnerId, storage: StorageDep) -> UploadUrlResponse:
    """A URL to PUT one file to (10 MB at most); name it later in `included_file_names`."""
    check_upload_request(body.file_name, body.content_type, body.size_bytes)
    key = names.upload_key(owner_id, body.file_name)
    return UploadUrlResponse(upload_url=storage.url_for_put(key, body.content_type, body.size_bytes))


def _screenshot_keys(session: SessionDep, task_id: str) -> list[str]:
    rows = session.exec(
        select(Step.screenshot_key)
        .where(Step.task_id == task_id, col(Step.screenshot_key).is_not(None))
        .order_by(col(Step.step))
    ).all()
    return [k for k in rows if k]


@router.get("/task/{task_id}/screenshots", response_model=ScreenshotsResponse, responses={**NOT_FOUND, **GONE})
def task_screenshots(task_id: str, session: SessionDep, owner_id: OwnerId, storage: StorageDep) -> ScreenshotsResponse:
    get_task_with_files(session, owner_id, task_id)
    return ScreenshotsResponse(screenshots=[storage.url_for_get(k) for k in _screenshot_keys(session, task_id)])


@router.get("/task/{task_id}/media", response_model=MediaResponse, responses={**NOT_FOUND, **GONE})
def task_media(task_id: str, session: SessionDep, owner_id: OwnerId, storage: StorageDep) -> MediaResponse:
    get_task_with_files(session, owner_id, task_id)
    found = storage.list(names.recordings_prefix(task_id))
    return MediaResponse(recordings=[storage.url_for_get(o.key) for o in found if o.size > 0])


@router.get("/task/{task_id}/gif", response_model=GifResponse, responses={**NOT_FOUND, **GONE})
def task_gif(task_id: str, session: SessionDep, owner_id: OwnerId, storage: StorageDep) -> GifResponse:
    """Built on first request for the steps so far, then kept."""
    get_task_with_files(session, owner_id, task_id)
    keys = _screenshot_keys(session, task_id)
    if not keys:
        return GifResponse(gif=None)
    key = names.gif_key(task_id, len(keys))
    if storage.stat(key) is None:
        storage.put_bytes(key, build_gif([storage.get_bytes(k) for k in keys]), "image/gif")
    return GifResponse(gif=storage.url_for_get(key))


@router.get(
    "/task/{task_id}/output-file/{file_name:path}", response_model=DownloadUrlResponse, responses={**NOT_FOUND, **GONE}
)
def task_output_file(
    task_id: str, file_name: str, session: SessionDep, owner_id: OwnerId, storage: StorageDep
) -> DownloadUrlResponse:
    checked_name(file_name, ["path", "file_name"])
    get_task_with_files(session, owner_id, task_id)
    key = names.output_key(task_id, file_name)
    if storage.stat(key) is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"Output file {file_name!r} not found: see the task's output_files"
        )
    return DownloadUrlResponse(download_url=storage.url_for_get(key, download_name=file_name))


# -- the local backend's signed URLs ---------------------------------------------------


def _local(storage: Storage) -> LocalStorage:
    if not isinstance(storage, LocalStorage):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found")
    return storage


def _verify(storage: LocalStorage, method: str, key: str, request: Request, extra: tuple[str, ...]) -> dict[str, str]:
    try:
        return storage.verify(method, key, dict(request.query_params), extra)
    except signing.BadSignature as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


@router.get("/files/{key:path}", include_in_schema=False)
def serve_file(key: str, request: Request, storage: StorageDep) -> Response:
    local = _local(storage)
    name = _verify(local, "GET", key, request, ("name",))["name"]
    path = local.path(key)
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The file no longer exists (it may have expired)")
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}
    if name:
        return FileResponse(path, media_type=guess_type(name), filename=name, headers=headers)
    return FileResponse(path, media_type=guess_type(key), headers=headers)


@router.put("/files/{key:path}", include_in_schema=False)
async def receive_file(key: str, request: Request, storage: StorageDep) -> Response:
    """The upload URL of the local backend: at most the signed size, at most 10 MB."""
    local = _local(storage)
    signed = _verify(local, "PUT", key, request, ("ct", "max"))
    limit = min(int(signed["max"]), UPLOAD_MAX_BYTES)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"The file is larger than {limit} bytes")
    await run_in_threadpool(local.put_bytes, key, bytes(body), signed["ct"])
    return Response(status_code=200)
