"""`make bench`, catalog cache part (issue 19): what a cache miss and an expiry cost under load,
and what the embedded default serves.

`expiry`: the API on the real stores with Redis (loadtest/bench.py's set-up) and entries fresh
for BENCH_CACHE_SECONDS (5), loaded from a cold start for BENCH_EXPIRY_SECONDS (35) at 50
connections over 40 list pages: the run starts with every page missing and crosses an expiry
of each page six or seven times, so its p99 is what a stampede costs, if there is one.

`embedded`: `make run` as a new user starts it (no store configured: SQLite, nx-27017 and the
catalog cache under a fresh DATA_DIR, the demo shop seeded), its product list over the demo's
10 pages against a bare Django view on the same server (the ceiling), steady state.

Usage: `BENCH_CACHE=1 make bench` (both), or `python loadtest/bench_cache.py [expiry|embedded]`.
Writes a section of reports/bench.md and reports/bench-cache.json. On a loaded machine Redis
may answer later than REDIS_TIMEOUT_MS (50 ms) and the breaker then sends every read to
MongoDB for REDIS_RETRY_SECONDS: set REDIS_TIMEOUT_MS higher to measure the cache itself.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from ecommerce.tooling.embedded import free_port  # noqa: E402
from loadtest.bench import (  # noqa: E402
    CONNECTIONS,
    REPORT_DIR,
    WARM_UP_SECONDS,
    _api_server,
    _bench_env,
    _latency,
    _settle,
    _write_latest,
)

CACHE_SECONDS = int(os.environ.get("BENCH_CACHE_SECONDS", "5"))
EXPIRY_SECONDS = int(os.environ.get("BENCH_EXPIRY_SECONDS", "35"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
EXPIRY_PAGES = 40
DEMO_PAGES = 10  # the demo shop's 200 products, 20 a page

LIST_LUA = """
local tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args) n = 0 end
function request()
  n = n + 1
  return wrk.format("GET", "/api/products?limit=20&offset=" .. ((n * 7 + tid) % {pages}) * 20)
end
"""
START, END = "<!-- cache:start -->", "<!-- cache:end -->"


def _wrk(base_url: str, path_or_script: str | Path, seconds: int) -> dict:
    target = ["-s", str(path_or_script), base_url] if isinstance(path_or_script, Path) else [base_url + path_or_script]
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", *target]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "max_ms": round(float(latency.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[latency.group(2)], 1),
        "errors": sum(
            int(m.group(1))
            for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"timeout (\d+)")
            if (m := re.search(pattern, output))
        ),
    }


def _list_script(workdir: Path, pages: int) -> Path:
    script = workdir / f"list_{pages}_pages.lua"
    script.write_text(LIST_LUA.format(pages=pages))
    return script


def expiry() -> dict:
    """List pages under 50 connections with entries fresh CACHE_SECONDS: from a cold start,
    then again right after every page was cached (the run crosses its expiries)."""
    env = _bench_env(CATALOG_CACHE_SECONDS=str(CACHE_SECONDS))
    if not env.get("REDIS_URL"):
        raise SystemExit("bench_cache expiry: needs Redis (REDIS_URL, or one on 127.0.0.1:6379)")
    env["DJANGO_SETTINGS_MODULE"] = "ecommerce.tooling.bench_settings"
    workdir = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    results = {}
    with _api_server(env, workdir, users=1) as api:
        url = api["url"]
        for _ in range(20):  # the workers up and connected; no list page asked yet
            requests.get(f"{url}/health/live", timeout=10)
        count = requests.get(f"{url}/api/products?limit=1&offset=0&sort=name", timeout=30).json()["count"]
        pages = max(1, min(EXPIRY_PAGES, count // 20))
        script = _list_script(workdir, pages)
        print(f"bench_cache: {EXPIRY_SECONDS} s over {pages} cold list pages, entries fresh {CACHE_SECONDS} s")
        results["expiry_cold"] = _wrk(url, script, EXPIRY_SECONDS)
        _settle(url)
        with ThreadPoolExecutor(max_workers=4) as pool:  # every page cached, then the run at once
            list(pool.map(lambda page: requests.get(f"{url}/api/products?limit=20&offset={page * 20}", timeout=60),
                          range(pages)))  # fmt: skip
        print(f"bench_cache: {EXPIRY_SECONDS} s over {pages} cached list pages, entries fresh {CACHE_SECONDS} s")
        results["expiry_warm"] = _wrk(url, script, EXPIRY_SECONDS)
        _settle(url)
        ceiling = _wrk(url, "/bench/ceiling", SECONDS)
    for result in results.values():
        result.update(pages=pages, ceiling_rps=ceiling["rps"], ceiling_p99_ms=ceiling["p99_ms"])
    return results


def embedded() -> dict:
    """`make run`'s server, nothing configured, on a fresh DATA_DIR."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MYSQL_URL", "MONGO_URL", "REDIS_URL")}
    env.update(
        DATA_DIR=str(data_dir), PORT=str(port), HOST_BIND="127.0.0.1",
        DJANGO_SETTINGS_MODULE="ecommerce.tooling.bench_settings",
        DEBUG="0", THROTTLE_ENABLED="0", ACCESS_LOG="0", LOG_LEVEL="WARNING",
    )  # fmt: skip
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - open for the server's whole life
    server = subprocess.Popen(
        [sys.executable, "-m", "ecommerce.tooling.serve"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench_cache embedded: make run's server did not start, see {data_dir}/serve.log")
            try:
                if requests.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        count = requests.get(f"{url}/api/products?limit=1", timeout=30).json()["count"]
        pages = max(1, min(DEMO_PAGES, count // 20))
        script = _list_script(data_dir, pages)
        print(f"bench_cache: make run's server ({count} products), ceiling and product list ({pages} pages)")
        subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{WARM_UP_SECONDS}s", "-s", str(script), url], check=True,
                       capture_output=True)  # fmt: skip
        _settle(url)
        before = _wrk(url, "/bench/ceiling", SECONDS)
        _settle(url)
        result = _wrk(url, script, SECONDS)
        _settle(url)
        after = _wrk(url, "/bench/ceiling", SECONDS)
        result["ceiling_rps"] = round((before["rps"] + after["rps"]) / 2, 1)
        result["ceiling_p99_ms"] = max(before["p99_ms"], after["p99_ms"])
        result["pages"], result["products"] = pages, count
        result["cache_files"] = len(list((data_dir / "cache" / "catalog").glob("*.djcache")))
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _report(results: dict) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "| run | req/s | p50 ms | p99 ms | max ms | ceiling req/s | ceiling p99 ms | ratio | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pages = results.get("expiry_cold", {}).get("pages", EXPIRY_PAGES)
    over = f"{pages} pages, entries fresh {CACHE_SECONDS} s, {EXPIRY_SECONDS} s (Redis)"
    names = {
        "expiry_cold": f"product list from a cold start, {over}",
        "expiry_warm": f"product list, every page cached at the start, {over}",
        "embedded": "product list, `make run` with nothing configured (files under DATA_DIR)",
    }
    for mode, r in results.items():
        ratio = r["rps"] / r["ceiling_rps"] if r["ceiling_rps"] else 0
        lines.append(
            f"| {names[mode]} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.0f} "
            f"| {r['ceiling_rps']:.0f} | {r['ceiling_p99_ms']:.1f} | {ratio:.0%} | {r['errors']} |"
        )
    setup = (
        f"{CONNECTIONS} connections, wrk -t2 on the same 2 cores, gunicorn sync with "
        f"WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', 'default')}; the ceiling is /bench/ceiling on the same "
        "server right after"
    )
    table = "\n".join(lines)
    print(f"\n{setup}\n\n{table}\n")
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    previous = REPORT_DIR / "bench-cache.json"
    kept = json.loads(previous.read_text()) if previous.exists() else {}
    (REPORT_DIR / "bench-cache.json").write_text(json.dumps({**kept, **results, "setup": setup}, indent=2))
    section = f"## Catalog cache under load ({when}, `loadtest/bench_cache.py`)\n\n{setup}\n\n{table}\n"
    _write_latest(REPORT_DIR / "bench.md", section, START, END)


def main(modes: list[str] | None = None) -> int:
    modes = modes or ["expiry", "embedded"]
    results = {}
    for mode in modes:
        if mode not in ("expiry", "embedded"):
            raise SystemExit(f"bench_cache: unknown mode {mode} (expiry, embedded)")
        results |= expiry() if mode == "expiry" else {"embedded": embedded()}
    _report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
