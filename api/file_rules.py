"""What may be uploaded and used: content types, sizes, names. Every refusal
is a 422 that says what to send instead."""

from __future__ import annotations

from api.errors import invalid
from shared.storage import UPLOAD_MAX_BYTES, FileNameError, Storage, check_file_name
from shared.storage.names import upload_key

# Text, images and documents. Types a browser would run (HTML, SVG, scripts) are
# left out: the files are served from the API's own origin.
_DOCUMENT_TYPES = {
    "application/pdf",
    "application/json",
    "application/xml",
    "application/rtf",
    "application/csv",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/x-yaml",
    "application/yaml",
    "application/zip",
}
_DOCUMENT_PREFIXES = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
_REFUSED = {"text/html", "text/javascript", "application/javascript", "image/svg+xml", "text/xml+svg"}


def checked_name(name: str, loc: list[str | int]) -> str:
    try:
        return check_file_name(name)
    except FileNameError as exc:
        raise invalid(loc, f"{exc}") from None


def content_type_allowed(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    if base in _REFUSED:
        return False
    if base.startswith(("text/", "image/")) and "/" in base and base.split("/", 1)[1]:
        return True
    return base in _DOCUMENT_TYPES or base.startswith(_DOCUMENT_PREFIXES)


def check_upload_request(file_name: str, content_type: str, size: int | None) -> None:
    checked_name(file_name, ["body", "file_name"])
    if not content_type_allowed(content_type):
        raise invalid(
            ["body", "content_type"],
            f"content type {content_type!r} is not accepted: upload text, images or documents "
            "(e.g. text/plain, text/csv, image/png, application/pdf)",
        )
    if size is not None and not 0 <= size <= UPLOAD_MAX_BYTES:
        raise invalid(["body", "size_bytes"], f"files are limited to {UPLOAD_MAX_BYTES // (1024 * 1024)} MB")


def check_included_files(storage: Storage, owner_id: str, names: list[str]) -> None:
    """Each name must be a file this key uploaded, within the size limit."""
    for i, name in enumerate(names):
        loc: list[str | int] = ["body", "included_file_names", i]
        checked_name(name, loc)
        info = storage.stat(upload_key(owner_id, name))
        if info is None:
            raise invalid(
                loc,
                f"file {name!r} was never uploaded: get an upload URL from POST /api/v1/uploads/presigned-url first",
            )
        if info.size > UPLOAD_MAX_BYTES:
            storage.delete([info.key])
            raise invalid(loc, f"file {name!r} is larger than {UPLOAD_MAX_BYTES // (1024 * 1024)} MB and was deleted")
