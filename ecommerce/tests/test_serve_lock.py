"""One server per DATA_DIR, and nothing left behind by a killed one (issue 12, item 13): real
`python -m ecommerce.tooling.serve` processes on the embedded default."""

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from ecommerce.testing.helpers import embedded_serve, wait_healthy
from ecommerce.tooling.embedded import free_port

QUIET = {"ACCESS_LOG": "0"}


def _parents() -> dict[int, int]:
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _children(pid: int) -> set[int]:
    """Every descendant of `pid`, from /proc."""
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _named(pids: set[int], *names: bytes) -> set[int]:
    named = set()
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if any(name in command for name in names):
            named.add(pid)
    return named


def _until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _stop(server: subprocess.Popen) -> int:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    return server.wait(timeout=90)


def test_a_second_server_on_the_same_data_dir_exits_and_touches_nothing(tmp_path):
    data_dir = tmp_path / "var"
    first_port, second_port = free_port(), free_port()
    first = embedded_serve(data_dir, first_port, env=QUIET)
    try:
        wait_healthy(first, first_port)
        mongo_url = (data_dir / "mongo.url").read_text()
        processes = _alive(_children(first.pid))

        second = embedded_serve(
            data_dir, second_port, env=QUIET, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            _, err = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            _stop(second)
            raise AssertionError("a second server started on the same DATA_DIR") from None

        assert second.returncode == 1
        assert f"Another server (pid {first.pid}, port {first_port}) is serving {data_dir}" in err
        # Nothing of the first was touched: its MongoDB, its URL file, its processes, its port.
        assert (data_dir / "mongo.url").read_text() == mongo_url
        assert _alive(_children(first.pid)) == processes
        for _ in range(6):  # every worker answers catalog reads
            assert requests.get(f"http://127.0.0.1:{first_port}/api/products", timeout=30).json()["count"] > 0
        assert requests.get(f"http://127.0.0.1:{first_port}/health", timeout=30).json()["status"] == "ok"
        try:
            requests.get(f"http://127.0.0.1:{second_port}/health/live", timeout=5)
            raise AssertionError("the second server serves")
        except requests.ConnectionError:
            pass
    finally:
        assert _stop(first) == 0
    assert not (data_dir / "mongo.url").exists()


def test_a_killed_server_leaves_nothing_that_blocks_the_next_one(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    first = embedded_serve(data_dir, port, env=QUIET)
    wait_healthy(first, port)
    started = _alive(_children(first.pid))
    # What holds the port and the data: gunicorn, its two workers, nx-27017.
    processes = _named(started, b"gunicorn", b"nx-27017")
    assert len(processes) == 4

    first.send_signal(signal.SIGKILL)
    first.wait()
    # At once, on the same directory and port: it waits for the killed server's processes.
    second = embedded_serve(data_dir, port, env=QUIET)
    try:
        wait_healthy(second, port)
        assert _alive(processes) == set()
        assert requests.get(f"http://127.0.0.1:{port}/api/products", timeout=30).json()["count"] > 0
        # The events relay beside it went too (it finishes the sends in flight first).
        assert _until(lambda: not _alive(started)), _alive(started)
    finally:
        assert _stop(second) == 0
        for pid in _alive(started):
            os.kill(pid, signal.SIGKILL)


def test_workers_die_with_a_killed_gunicorn_master(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    server = embedded_serve(data_dir, port, env=QUIET)
    try:
        wait_healthy(server, port)
        master = next(
            pid
            for pid, parent in _parents().items()
            if parent == server.pid and b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
        workers = _alive(_children(master))
        assert len(workers) == 2

        os.kill(master, signal.SIGKILL)
        server.wait(timeout=90)  # make run ends with its server, stopping its MongoDB

        assert _alive(workers) == set()
        assert not (data_dir / "mongo.url").exists()
        again = embedded_serve(data_dir, port, env=QUIET)
        try:
            wait_healthy(again, port)
        finally:
            assert _stop(again) == 0
    finally:
        _stop(server)
