"""The embedded MongoDB of the default set-up: an nx-27017 server on a free local port.

Used by `python -m ecommerce.tooling.serve` (data under DATA_DIR) and by the tests (in memory).
"""

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from ecommerce.tooling.processes import die_with_parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedMongo:
    """An nx-27017 process: `data_dir=None` keeps everything in memory. It stops when the
    process that started it dies; `pass_fds` are inherited by it (the DATA_DIR lock)."""

    def __init__(
        self,
        *,
        run_dir: Path,
        data_dir: Path | None = None,
        database: str = "ecommerce",
        pass_fds: tuple[int, ...] = (),
    ):
        self.run_dir = run_dir
        self.data_dir = data_dir
        self.database = database
        self.pass_fds = pass_fds
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{self.database}"

    def start(self, timeout: float = 30) -> "EmbeddedMongo":
        self.run_dir.mkdir(parents=True, exist_ok=True)
        storage = ["--data-dir", str(self.data_dir)] if self.data_dir else ["--db", "memory"]
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        executable = Path(sys.executable).with_name("nx-27017")
        command = [
            str(executable),
            *storage,
            "--host", "127.0.0.1",
            "-p", str(self.port),
            "--pid-file", str(self.run_dir / f"nx-27017-{self.port}.pid"),
            "--log-file", str(self.run_dir / f"nx-27017-{self.port}.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=self.pass_fds,
            preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid()),
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = MongoClient(self.url, serverSelectionTimeoutMS=500)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"nx-27017 exited with {self.process.returncode}; see {self.run_dir}")
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"nx-27017 did not answer on port {self.port} in {timeout}s") from None
                    time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
