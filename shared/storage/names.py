"""File names from users, and the storage keys built from them.

A name a user gives (an upload, an output file asked for by URL) is never
used as a path: it must be one plain file name, and keys are built only from
checked names and server-made ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_NAME_CHARS = 200


class FileNameError(ValueError):
    """The name cannot be used; the message says why and what to use instead."""


def check_file_name(name: str) -> str:
    """Returns `name` if it is one plain file name, else raises FileNameError."""
    if not isinstance(name, str) or not name:
        raise FileNameError("the file name is empty: give a name such as 'data.csv'")
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > 255:
        raise FileNameError(f"the file name is longer than {MAX_NAME_CHARS} characters: shorten it")
    if "\x00" in name:
        raise FileNameError("the file name contains a NUL byte")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise FileNameError("the file name contains control characters")
    if "/" in name or "\\" in name:
        raise FileNameError("the file name must not contain '/' or '\\': give a plain name, not a path")
    if name in (".", "..") or name.startswith(".") or ".." in name:
        raise FileNameError("the file name must not start with '.' or contain '..'")
    if name != name.strip():
        raise FileNameError("the file name must not start or end with spaces")
    return name


def file_name_from(suggested: str, taken: Callable[[str], bool] = lambda _name: False) -> str:
    """The name a file offered under `suggested` (a page's download) is stored and listed
    under: `suggested` made to pass check_file_name (path parts, control characters, '..'
    and leading dots replaced, cut to length with its extension kept), then numbered
    ' (1)', ' (2)'... while `taken`. The one place such names are made, so the name the
    task lists is always the name storage has."""
    name = re.split(r"[/\\]", suggested or "")[-1]
    name = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch for ch in name)
    name = re.sub(r"\.{2,}", ".", name).strip().lstrip(".").strip() or "download"
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 20:
        stem, suffix = name, ""
    suffix = f".{suffix}" if suffix else ""
    n = 0
    while True:
        numbered = f" ({n})" if n else ""
        room = MAX_NAME_CHARS - len(suffix) - len(numbered)
        cut = stem[:room]
        while len(f"{cut}{numbered}{suffix}".encode()) > 255:
            cut = cut[:-1]
        candidate = check_file_name(f"{cut.rstrip() or 'download'}{numbered}{suffix}")
        if not taken(candidate):
            return candidate
        n += 1


def upload_key(owner_id: str, file_name: str) -> str:
    return f"uploads/{owner_id}/{check_file_name(file_name)}"


def task_prefix(task_id: str) -> str:
    return f"tasks/{task_id}/"


def output_key(task_id: str, file_name: str) -> str:
    return f"{task_prefix(task_id)}outputs/{check_file_name(file_name)}"


def screenshot_key(task_id: str, step: int) -> str:
    return f"{task_prefix(task_id)}screenshots/{step:04d}.jpg"


def recordings_prefix(task_id: str) -> str:
    return f"{task_prefix(task_id)}recordings/"


def recording_key(task_id: str, attempt: int) -> str:
    return f"{recordings_prefix(task_id)}attempt-{attempt}.webm"


def gif_key(task_id: str, steps: int) -> str:
    """One GIF per number of screenshots, so a GIF made while the task ran is never served as the final one."""
    return f"{task_prefix(task_id)}summary-{steps:04d}.gif"
