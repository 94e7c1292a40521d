"""Files end to end, through HTTP only: upload a file, have a real task use it
(a file input posting to a real server, and read_file), get what the agent
wrote and downloaded back byte for byte, and the step screenshots, the
recording and the GIF; against the local backend and a real S3-compatible
gateway (SeaweedFS in its own process, which checks signatures and expiry as S3
does). Also: refused names, refused URLs, and files expiring after the
retention period."""

from __future__ import annotations

import base64
import http.client
import io
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from shared.storage.s3 import S3Storage
from tests.support.s3_gateway import ACCESS_KEY, SECRET_KEY, SeaweedS3
from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
BUCKET = "browserq-test"
VIEWPORT = {"browser_viewport_width": 800, "browser_viewport_height": 600}
REPORT_CSV = "id,total\n1,42\n"
UPLOAD_PAGE = """<!doctype html><html><head><title>Upload form</title></head><body>
<h1>Send a file</h1>
<form method="post" action="/echo-upload" enctype="multipart/form-data">
  <input type="file" name="attachment" aria-label="Attachment">
  <input type="password" name="pin" placeholder="PIN" value="1234"
         style="position:fixed; left:400px; top:300px; width:200px; height:40px">
  <button type="submit">Send file</button>
</form>
<a download="report.csv" href="data:text/csv;base64,{csv}">Download report</a>
</body></html>"""
BAD_NAMES = [
    "../evil.txt",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b.txt",
    "a\\b.txt",
    "x\x00.txt",
    "..",
    ".",
    ".hidden",
    "",
    "n" * 300,
]


def answer(goal: str, *actions: dict) -> dict:
    return {"evaluation_previous_goal": "ok", "memory": "", "next_goal": goal, "action": list(actions)}


# -- the S3-compatible server and the stacks -------------------------------------------


@pytest.fixture(scope="module")
def s3_server() -> Iterator[SeaweedS3]:
    with SeaweedS3() as gateway:
        yield gateway


def _module_stack(model: ScriptedModelServer, env: dict[str, str]) -> Iterator[Stack]:
    stack = Stack(kind="embedded", model_base_url=model.base_url, env_extra=env, concurrency=1)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def s3_stack(model: ScriptedModelServer, s3_server: SeaweedS3) -> Iterator[Stack]:
    yield from _module_stack(
        model,
        {
            "BROWSERQ_STORAGE_BACKEND": "s3",
            "BROWSERQ_S3_ENDPOINT_URL": s3_server.url,
            "BROWSERQ_S3_BUCKET": BUCKET,
            "BROWSERQ_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "BROWSERQ_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "BROWSERQ_S3_REGION": "us-east-1",
        },
    )


@pytest.fixture(scope="module")
def short_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    """Local storage whose URLs live 3 s and whose files are kept 12 s."""
    yield from _module_stack(
        model,
        {
            "BROWSERQ_SIGNED_URL_SECONDS": "3",
            "BROWSERQ_FILE_RETENTION_DAYS": str(12 / 86400),
            "BROWSERQ_RETENTION_INTERVAL_SECONDS": "1",
        },
    )


@pytest.fixture(scope="module", params=["local", "s3"])
def files_stack(request: pytest.FixtureRequest) -> Stack:
    return request.getfixturevalue("pg_stack" if request.param == "local" else "s3_stack")


# -- helpers -----------------------------------------------------------------------------


def upload(client: httpx.Client, name: str, data: bytes, content_type: str = "text/plain") -> None:
    response = client.post("/uploads/presigned-url", json={"file_name": name, "content_type": content_type})
    assert response.status_code == 200, response.text
    put = httpx.put(response.json()["upload_url"], content=data, headers={"Content-Type": content_type}, timeout=30)
    assert put.status_code == 200, put.text


def raw_get(stack: Stack, path: str) -> int:
    """A GET sent exactly as written (httpx would resolve '..' segments before sending)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {stack.key}"})
        return conn.getresponse().status
    finally:
        conn.close()


def fetch(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.content


def run(client: httpx.Client, model: ScriptedModelServer, replies: list[dict], **fields: object) -> dict:
    key = model.script(replies)
    response = client.post("/run-task", json={"task": f"Use the files [script:{key}]", **VIEWPORT, **fields})
    assert response.status_code == 200, response.text
    task = wait_for(client, response.json()["id"], FINAL, timeout=90)
    task["_script"] = key
    return task


def file_task(site: SiteServer, model: ScriptedModelServer, client: httpx.Client, upload_name: str) -> dict:
    page = site.add_page(
        f"upload-{uuid.uuid4().hex[:6]}", UPLOAD_PAGE.replace("{csv}", base64.b64encode(REPORT_CSV.encode()).decode())
    )
    return run(
        client,
        model,
        [
            answer("Open the form", {"navigate": {"url": page}}),
            answer(
                "Attach and download",
                {"click": {"index": "@text:Download report"}},
                {"upload_file": {"index": "@text:Attachment", "file_name": upload_name}},
                {"click": {"index": "@text:Send file"}},
            ),
            answer(
                "Read and write",
                {"read_file": {"file_name": upload_name}},
                {"write_file": {"file_name": "result.txt", "content": "résumé: 42\n"}},
            ),
            answer("Finish", {"done": {"text": "done"}}),
        ],
        included_file_names=[upload_name],
    )


def saturated_pixels(img: Image.Image) -> int:
    """Pixels of strong color: the highlight labels and outlines (the test pages are black on white)."""
    _h, sat, val = img.convert("HSV").split()
    return sum(1 for s, v in zip(sat.tobytes(), val.tobytes(), strict=True) if s > 150 and v > 100)


# -- the whole path ------------------------------------------------------------------------


def test_upload_use_output_screenshots_recording_gif(
    files_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    token = f"upload-token-{uuid.uuid4().hex[:8]}"
    name = f"notes-{uuid.uuid4().hex[:6]}.txt"
    with files_stack.client() as client:
        upload(client, name, f"{token}\n".encode())
        task = file_task(site, model, client, name)
        assert task["status"] == "finished", (task["output"], files_stack.log("worker0")[-4000:])
        assert task["user_uploaded_files"] == [name]
        assert sorted(task["output_files"]) == ["report.csv", "result.txt"]
        prompts = [str(r["messages"]) for r in model.calls(task["_script"])["requests"]]
        assert f"Received {name}" in prompts[2] and token in prompts[2]  # the site echoed the uploaded bytes
        assert f"Content of {name}" in prompts[3] and token in prompts[3]  # read_file read them

        # Output files, byte for byte.
        result_url = client.get(f"/task/{task['id']}/output-file/result.txt").json()["download_url"]
        assert fetch(result_url) == "résumé: 42\n".encode()
        report_url = client.get(f"/task/{task['id']}/output-file/report.csv").json()["download_url"]
        assert fetch(report_url) == REPORT_CSV.encode()
        missing = client.get(f"/task/{task['id']}/output-file/nothing.txt")
        assert missing.status_code == 404, missing.text
        if files_stack.env.get("BROWSERQ_STORAGE_BACKEND") == "s3":
            # Real presigned URLs, checked by a real gateway (SeaweedFS): a tampered signature reaches nothing.
            assert "X-Amz-Signature=" in result_url and "X-Amz-Expires=3600" in result_url
            assert httpx.get(tampered(result_url)).status_code == 403
        # An altered URL reaches nothing.
        assert httpx.get(result_url.replace("result.txt", "report.csv")).status_code == 403

        # One screenshot per step, in order, linked from each step; labels drawn.
        shots = client.get(f"/task/{task['id']}/screenshots").json()["screenshots"]
        assert len(shots) == len(task["steps"]) == 4
        assert [s["screenshot_url"] is not None for s in task["steps"]] == [True] * 4
        images = [Image.open(io.BytesIO(fetch(url))) for url in shots]
        assert all(img.format == "JPEG" and img.size == (800, 600) for img in images)
        assert saturated_pixels(images[1]) > 200  # the form's elements are labelled
        masked = images[1].convert("L").crop((410, 310, 590, 330))  # inside the password field
        assert max(masked.tobytes()) < 40  # blacked out

        recordings = client.get(f"/task/{task['id']}/media").json()["recordings"]
        assert len(recordings) == 1
        video = fetch(recordings[0])
        assert video[:4] == b"\x1a\x45\xdf\xa3"  # WebM (EBML)
        frames, seconds = _video_frames_and_seconds(video)
        assert frames > 0 and seconds > 0.2

        gif_url = client.get(f"/task/{task['id']}/gif").json()["gif"]
        gif = Image.open(io.BytesIO(fetch(gif_url)))
        assert gif.format == "GIF" and gif.n_frames >= 2  # identical neighbours are merged into one frame
        assert sum(_frame_durations(gif)) == 4000  # one second per step


def _frame_durations(gif: Image.Image) -> list[int]:
    durations = []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
    return durations


def _video_frames_and_seconds(data: bytes) -> tuple[int, float]:
    import imageio_ffmpeg

    with tempfile.NamedTemporaryFile(suffix=".webm") as fh:
        fh.write(data)
        fh.flush()
        return imageio_ffmpeg.count_frames_and_secs(fh.name)


def tampered(url: str) -> str:
    """`url` with the first hex digit of its S3 signature changed."""
    changed = re.sub(r"X-Amz-Signature=([0-9a-f])", lambda m: "X-Amz-Signature=" + "0f"[m[1] == "0"], url)
    assert changed != url, url
    return changed


def _s3(server: SeaweedS3, secret: str = SECRET_KEY, url_seconds: float = 3600) -> S3Storage:
    return S3Storage(
        BUCKET,
        endpoint_url=server.url,
        public_endpoint_url=None,
        region="us-east-1",
        access_key_id=ACCESS_KEY,
        secret_access_key=secret,
        url_seconds=url_seconds,
    )


def test_s3_presigned_urls_are_checked_by_the_store(s3_server: SeaweedS3) -> None:
    """What a client downloading from several workers' store meets: the store itself
    answers a good presigned URL and refuses a tampered, a wrongly signed and an
    expired one (moto's server, which the tests used before, checked none of these)."""
    storage = _s3(s3_server)
    key = f"tasks/{uuid.uuid4()}/output/signed.txt"
    storage.put_bytes(key, b"signed bytes", "text/plain")
    good = storage.url_for_get(key, "signed.txt")
    assert fetch(good) == b"signed bytes"
    assert httpx.get(tampered(good)).status_code == 403
    other_key = good.replace("signed.txt", "other.txt")
    assert httpx.get(other_key).status_code == 403
    wrong_secret = _s3(s3_server, secret="not-the-secret").url_for_get(key, "signed.txt")
    assert "X-Amz-Signature=" in wrong_secret and httpx.get(wrong_secret).status_code == 403
    short = _s3(s3_server, url_seconds=1).url_for_get(key, "signed.txt")
    assert fetch(short) == b"signed bytes"  # good until it expires
    time.sleep(2.5)
    assert httpx.get(short).status_code == 403


# -- refusals ------------------------------------------------------------------------------


def test_unsafe_names_types_and_unknown_files_are_refused(files_stack: Stack) -> None:
    with files_stack.client() as client:
        for bad in BAD_NAMES:
            r = client.post("/uploads/presigned-url", json={"file_name": bad, "content_type": "text/plain"})
            assert r.status_code == 422, (bad, r.text)
            r = client.post("/run-task", json={"task": "x", "included_file_names": [bad]})
            assert r.status_code == 422, (bad, r.text)
        for content_type in ("text/html", "image/svg+xml", "application/x-msdownload", "video/mp4"):
            r = client.post("/uploads/presigned-url", json={"file_name": "a.bin", "content_type": content_type})
            assert r.status_code == 422, (content_type, r.text)
        r = client.post("/run-task", json={"task": "x", "included_file_names": ["never-uploaded.txt"]})
        assert r.status_code == 422 and "never uploaded" in r.text
        task_id = client.post("/run-task", json={"task": "x", "max_agent_steps": 1}).json()["id"]
        for raw in (
            "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
            "..",
            "../../etc/passwd",
            "%2E%2E",
            "a%00b",
            "%2Fetc%2Fpasswd",
            "a%5Cb",
            "x/../../y.txt",
        ):
            status = raw_get(files_stack, f"/api/v1/task/{task_id}/output-file/{raw}")
            assert status == 422, (raw, status)
        assert client.get(f"/task/{uuid.uuid4()}/output-file/a.txt").status_code == 404
        assert client.get(f"/task/{uuid.uuid4()}/screenshots").status_code == 404


def test_upload_over_10_mb_is_refused(files_stack: Stack) -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    with files_stack.client() as client:
        url = client.post("/uploads/presigned-url", json={"file_name": "big.txt", "content_type": "text/plain"}).json()[
            "upload_url"
        ]
        put = httpx.put(url, content=big, headers={"Content-Type": "text/plain"}, timeout=60)
        if put.status_code == 200:  # S3 cannot cap a presigned PUT: the file is refused when used
            r = client.post("/run-task", json={"task": "x", "included_file_names": ["big.txt"]})
            assert r.status_code == 422 and "larger than 10 MB" in r.text, r.text
        else:
            assert put.status_code == 413, put.text


def test_local_file_urls_need_a_valid_signature(pg_stack: Stack) -> None:
    with pg_stack.client() as client:
        upload(client, "signed.txt", b"hello")
        url = client.post(
            "/uploads/presigned-url", json={"file_name": "signed.txt", "content_type": "text/plain"}
        ).json()["upload_url"]
    base = f"{pg_stack.url}/api/v1/files/"
    assert url.startswith(base)
    # An upload URL made for one file cannot write another, nor be used to read.
    assert httpx.put(url.replace("signed.txt", "other.txt"), content=b"x").status_code == 403
    assert httpx.get(url).status_code == 403
    assert httpx.put(url.replace("expires=", "expires=9"), content=b"x").status_code == 403
    for path in ("../../etc/passwd", "%2E%2E/%2E%2E/etc/passwd", "uploads/x/signed.txt"):
        assert httpx.get(f"{base}{path}?expires=9999999999&signature=00&name=").status_code in (403, 404)


# -- expiry and retention (local backend, short limits) -----------------------------------


def test_urls_expire_and_files_are_deleted_after_retention(short_stack: Stack, model: ScriptedModelServer) -> None:
    with short_stack.client() as client:
        upload(client, "old.txt", b"soon gone")
        task = run(
            client,
            model,
            [
                answer("Write", {"write_file": {"file_name": "out.txt", "content": "bytes"}}),
                answer("Finish", {"done": {"text": "ok"}}),
            ],
            highlight_elements=False,
        )
        assert task["status"] == "finished" and task["output_files"] == ["out.txt"]
        url = client.get(f"/task/{task['id']}/output-file/out.txt").json()["download_url"]
        assert fetch(url) == b"bytes"
        shots = client.get(f"/task/{task['id']}/screenshots").json()["screenshots"]
        assert saturated_pixels(Image.open(io.BytesIO(fetch(shots[0])))) < 50  # no labels asked for
        # Signed for 3 s, rounded up to a whole second: never past 4 s from now, then refused.
        expires = int(parse_qs(urlsplit(url).query)["expires"][0])
        assert time.time() < expires <= time.time() + 4
        time.sleep(max(0.0, expires - time.time()) + 1.1)
        expired = httpx.get(url)
        assert expired.status_code == 403 and "expired" in expired.text

        deadline = time.monotonic() + 40
        gone = client.get(f"/task/{task['id']}/output-file/out.txt")
        while gone.status_code != 410 and time.monotonic() < deadline:
            time.sleep(0.5)
            gone = client.get(f"/task/{task['id']}/output-file/out.txt")
        assert gone.status_code == 410 and "expired" in gone.json()["detail"], gone.text
        for path in ("screenshots", "media", "gif"):
            assert client.get(f"/task/{task['id']}/{path}").status_code == 410
        kept = client.get(f"/task/{task['id']}").json()
        assert kept["output"] == "ok" and kept["steps"][0]["screenshot_url"] is None
        r = client.post("/run-task", json={"task": "x", "included_file_names": ["old.txt"]})
        assert r.status_code == 422, r.text  # the upload was deleted too


def test_a_stopped_task_keeps_its_screenshots_and_recording(
    s3_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": 60.0, "reply": answer("Finish", {"done": {"text": "late"}})},
        ]
    )
    with s3_stack.client() as client:
        task_id = client.post("/run-task", json={"task": f"Wait [script:{key}]", **VIEWPORT}).json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(client.get(f"/task/{task_id}").json()["steps"]) < 1:
            time.sleep(0.2)
        time.sleep(1.0)  # step 2 is waiting for the model
        assert client.put(f"/stop-task?task_id={task_id}").status_code == 200
        recordings: list[str] = []
        while time.monotonic() < deadline and not recordings:
            recordings = client.get(f"/task/{task_id}/media").json()["recordings"]
            time.sleep(0.3)
        assert len(recordings) == 1 and fetch(recordings[0])[:4] == b"\x1a\x45\xdf\xa3"
        shots = client.get(f"/task/{task_id}/screenshots").json()["screenshots"]
        assert len(shots) >= 1 and Image.open(io.BytesIO(fetch(shots[0]))).format == "JPEG"
