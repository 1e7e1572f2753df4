"""`make run` starts one relay beside gunicorn (ecommerce/tooling/serve.py); in Kubernetes
and Compose the relay is its own Deployment / service running `manage.py deliver_events`."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What the relay gets after SIGTERM to finish the sends in flight (each is at most 10 s).
STOP_SECONDS = 30


@contextmanager
def relay_beside(base_dir: Path, **popen) -> Iterator[subprocess.Popen]:
    """Run `manage.py deliver_events` for as long as the block runs; stop it gracefully after.
    `popen`: more for subprocess.Popen (the server has it die with its parent)."""
    relay = subprocess.Popen([sys.executable, "manage.py", "deliver_events"], cwd=base_dir, **popen)
    try:
        yield relay
    finally:
        if relay.poll() is None:
            relay.terminate()
            try:
                relay.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                relay.kill()
                relay.wait()
