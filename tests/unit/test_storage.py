"""File names, URL signatures and the local store's key checks: the pure
parts of file storage (the whole path is tested in tests/e2e/test_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.storage import FileNameError, StorageError, StorageNotConfigured, check_file_name, signing
from shared.storage.local import LocalStorage
from shared.storage.names import output_key

KEY = b"k" * 32


@pytest.mark.parametrize("name", ["data.csv", "Report 2025 (final).pdf", "résumé.txt", "a", "x" * 200])
def test_plain_names_are_accepted(name: str) -> None:
    assert check_file_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../a",
        "a/../b",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "C:\\x",
        ".env",
        "a\x00b",
        "a\nb",
        "x" * 201,
        "é" * 150,
        " a.txt",
        "a..b",
        "\u202etxt.exe",
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(FileNameError):
        check_file_name(name)
    with pytest.raises(FileNameError):
        output_key("task", name)


def _query(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_a_signed_url_verifies_only_for_its_method_key_and_time() -> None:
    url = signing.sign(KEY, "http://h", "PUT", "uploads/o/a.txt", 60, ct="text/plain", max="10")
    q = _query(url)
    assert signing.verify(KEY, "PUT", "uploads/o/a.txt", q, ("ct", "max")) == {"ct": "text/plain", "max": "10"}
    for method, key, query, secret in [
        ("GET", "uploads/o/a.txt", q, KEY),
        ("PUT", "uploads/o/b.txt", q, KEY),
        ("PUT", "uploads/o/a.txt", {**q, "max": "99999999"}, KEY),
        ("PUT", "uploads/o/a.txt", {**q, "expires": str(int(q["expires"]) + 3600)}, KEY),
        ("PUT", "uploads/o/a.txt", q, b"other" * 8),
        ("PUT", "uploads/o/a.txt", {k: v for k, v in q.items() if k != "signature"}, KEY),
    ]:
        with pytest.raises(signing.BadSignature):
            signing.verify(secret, method, key, query, ("ct", "max"))


def test_an_expired_url_is_refused() -> None:
    q = _query(signing.sign(KEY, "http://h", "GET", "k", -1, name=""))
    with pytest.raises(signing.BadSignature, match="expired"):
        signing.verify(KEY, "GET", "k", q, ("name",))


def test_the_signing_key_comes_from_settings() -> None:
    assert signing.signing_key("explicit", None) == b"explicit"
    derived = signing.signing_key(None, "fernet-key")
    assert derived != b"fernet-key" and len(derived) == 32
    with pytest.raises(StorageNotConfigured, match="BROWSERQ_URL_SIGNING_KEY"):
        signing.signing_key(None, None)


def test_local_keys_never_leave_the_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root", "http://h", KEY, 60)
    store.put_bytes("tasks/t/outputs/a.txt", b"hi", "text/plain")
    assert store.get_bytes("tasks/t/outputs/a.txt") == b"hi"
    assert [o.key for o in store.list("tasks/t/")] == ["tasks/t/outputs/a.txt"]
    for bad in ("../x", "tasks/../../x", "/etc/passwd", "a//b", "a/./b", "a\x00b", ""):
        with pytest.raises(StorageError):
            store.path(bad)
    store.delete(["tasks/t/outputs/a.txt"])
    assert store.stat("tasks/t/outputs/a.txt") is None and not (tmp_path / "root" / "tasks").exists()


def test_local_urls_need_a_key(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path, "http://h", None, 60)
    store.put_bytes("a", b"x", "text/plain")  # workers store files without one
    with pytest.raises(StorageNotConfigured):
        store.url_for_get("a")


def test_signed_urls_stay_the_same_for_a_while_and_never_expire_early() -> None:
    assert signing.expiry(3600, now=999_901.0) == signing.expiry(3600, now=1_000_150.0) == 1_003_800
    assert signing.expiry(3600, now=1_000_201.0) == 1_004_100  # the next 5-minute step
    for now in (1_000_000.0, 1_000_000.4, 1_000_299.9):
        assert now + 3600 <= signing.expiry(3600, now=now) < now + 3600 + 300
        assert now + 3 <= signing.expiry(3, now=now) < now + 3 + 1  # short lifetimes keep to the second
