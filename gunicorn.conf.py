"""Gunicorn settings for every way the API runs: `make run`, the image, Kubernetes.

Workers: WEB_CONCURRENCY, else two per CPU (the work per request is Python, so
processes, not threads, use the cores). Threads per worker: GUNICORN_THREADS.
"""

import json
import multiprocessing
import os
import signal

# In a container the server listens on every interface of its own network namespace (bandit B104).
bind = f"{os.environ.get('HOST_BIND', '0.0.0.0')}:{os.environ.get('PORT', '8080')}"  # nosec B104
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# A request that runs longer than this is killed and logged.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a rolling update), finish in-flight requests for this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound, each after its own
# count (20,000 to 30,000 requests by default): workers share the load evenly, and with a
# narrower spread they all restart within seconds of each other, the whole server booting at
# once under load (a 2 s p99 measured across such a moment, see reports/bench.md).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER") or max_requests // 2)
# Workers import the app themselves, so each opens its own database connections
# and MongoDB client after the fork.
preload_app = False
# Heartbeat files on tmpfs: fast, and the root filesystem may be read-only. Not shared
# temporary files (ruff S108, bandit B108): gunicorn's own, one per worker.
_SHM = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn >= 25.1 opens a control socket under $HOME/.gunicorn by default: unwritable on
# the image's read-only root, and one path shared by every server a user runs. Replicas
# are scaled by the orchestrator, not by gunicornc, so it stays off.
control_socket_disable = True


def post_fork(server, worker):
    """A worker dies with its master: a SIGKILLed master must not leave workers holding the
    port (they would notice only at their next heartbeat, up to `timeout` seconds later)."""
    from ecommerce.tooling.processes import die_with_parent

    die_with_parent(signal.SIGKILL, server.pid)


loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") != "0" else None
# One JSON object per request; gunicorn fills the %-placeholders.
access_log_format = json.dumps(
    {
        "time": "%(t)s",
        "logger": "access",
        "remote": "%(h)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "query": "%(q)s",
        "status": "%(s)s",
        "bytes": "%(B)s",
        "duration_ms": "%(M)s",
        "request_id": "%({x-request-id}o)s",
        "user_agent": "%(a)s",
    }
)
