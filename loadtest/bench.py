"""`make bench`: the API on the real stores under gunicorn with production settings, loaded
by wrk (a separate process) endpoint by endpoint, each compared with a bare Django JSON view
through the same middleware stack: the ceiling of this machine.

Numbers move 10-20 % between runs on a shared 2-core machine, so read the ratios, which are
taken in one run. Writes reports/bench.md and reports/bench.json.

Environment: BENCH_DATABASE_URL, BENCH_MYSQL_URL (default: this machine's PostgreSQL and
MariaDB, databases `ecommerce_bench`, dropped and re-created), MONGO_URL (default: an
nx-27017 started here), REDIS_URL (optional: the catalog cache), BENCH_SECONDS (10),
BENCH_CONNECTIONS (50), BENCH_PRODUCTS (5000), BENCH_USERS (500), WEB_CONCURRENCY,
GUNICORN_THREADS.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from ecommerce.tooling.embedded import EmbeddedMongo, free_port  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WARM_UP_SECONDS = int(os.environ.get("BENCH_WARM_UP_SECONDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "5000"))
USERS = int(os.environ.get("BENCH_USERS", "500"))
PASSWORD = "Bench-Passw0rd!"  # noqa: S105 - throwaway accounts of a throwaway database
REPORT_DIR = Path(os.environ.get("REPORT_DIR", BASE_DIR / "reports"))

# name, method, path template, lua body builder, whether it reads
SCENARIOS = [
    ("ceiling (bare Django JSON view)", "GET", "/bench/ceiling", None, True),
    ("product detail", "GET", "/api/products/{product}", None, True),
    ("product list (20)", "GET", "/api/products?limit=20", None, True),
    ("search", "GET", "/api/products/search?q=steel", None, True),
    ("cart read", "GET", "/api/cart/{user}", None, True),
    ("add to cart", "POST", "/api/cart/{user}/items", "cart", False),
    ("place order", "POST", "/api/orders", "order", False),
    ("order list", "GET", "/api/orders", None, True),
    ("analytics revenue", "GET", "/api/analytics/revenue", None, True),
]

LUA = """
local users = {users}
local products = {products}
local mode = "{mode}"
local path_template = "{path}"
local method = "{method}"
local counter = 0
local shipping = '{{"name":"Bench","line1":"1 Main St","city":"Paris","postal_code":"75001","country":"FR"}}'

request = function()
  counter = counter + 1
  local user = users[(counter % #users) + 1]
  local product = products[(math.random(#products))]
  local path = path_template:gsub("{{user}}", user.id):gsub("{{product}}", product)
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  if user.token ~= "" then headers["Authorization"] = "Bearer " .. user.token end
  local body = nil
  if mode == "cart" then
    body = '{{"product_id":"' .. product .. '","quantity":1}}'
  elseif mode == "order" then
    body = '{{"items":[{{"product_id":"' .. product .. '","quantity":1}}],"shipping_address":' .. shipping .. '}}'
  end
  return wrk.format(method, path, headers, body)
end
"""


def _redis_here() -> bool:
    try:
        return subprocess.run(["redis-cli", "ping"], capture_output=True, text=True, timeout=5).stdout.strip() == "PONG"
    except (OSError, subprocess.TimeoutExpired):
        return False


def _settle(base_url: str) -> None:
    """Wait until the server has drained what the last run queued (a slow endpoint's
    backlog would otherwise be billed to the next one)."""
    for _ in range(600):
        started = time.perf_counter()
        try:
            requests.get(f"{base_url}/health/live", timeout=5)
        except requests.RequestException:
            continue
        if time.perf_counter() - started < 0.05:
            return
        time.sleep(0.1)


def _run(command: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=BASE_DIR, check=True, **kwargs)


def _drop_databases(env: dict) -> None:
    from urllib.parse import urlparse

    import MySQLdb
    import psycopg

    pg = urlparse(env["DATABASE_URL"])
    with psycopg.connect(
        host=pg.hostname, port=pg.port or 5432, user=pg.username, password=pg.password, dbname="postgres",
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{pg.path.lstrip("/")}" WITH (FORCE)')
    my = urlparse(env["MYSQL_URL"])
    conn = MySQLdb.connect(host=my.hostname, port=my.port or 3306, user=my.username, password=my.password or "")
    conn.cursor().execute(f"DROP DATABASE IF EXISTS `{my.path.lstrip('/')}`")
    conn.close()


def _post(url: str, body: dict) -> dict:
    response = requests.post(url, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _get(url: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(url, headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()


def _wrk(
    base_url: str, scenario: tuple, users: list[dict], products: list[str], workdir: Path, warm_up: bool = True
) -> dict:
    """One endpoint: a short unrecorded warm-up (caches, connections), then the measured run."""
    name, method, path, mode, _reads = scenario
    script = workdir / f"{re.sub(r'[^a-z]+', '_', name)}.lua"
    lua_users = "{" + ",".join(f'{{id="{u["id"]}",token="{u["token"]}"}}' for u in users) + "}"
    lua_products = "{" + ",".join(f'"{p}"' for p in products) + "}"
    script.write_text(LUA.format(users=lua_users, products=lua_products, mode=mode or "", path=path, method=method))
    if warm_up:
        subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{WARM_UP_SECONDS}s", "-s", str(script), base_url],
            capture_output=True, check=True,
        )  # fmt: skip
        _settle(base_url)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", str(script), base_url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {
        "name": name,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "errors": sum(
            int(m.group(1))
            for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"timeout (\d+)")
            if (m := re.search(pattern, output))
        ),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
    }


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)


def main() -> int:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="ecommerce.settings",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce_bench"),
        MYSQL_URL=os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/ecommerce_bench"),
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + os.urandom(24).hex()),
        DEBUG="0",
        THROTTLE_ENABLED="0",
        ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
        BENCH_ENDPOINTS="1",
        SEED_ADMIN_EMAIL="bench-admin@example.com",
        SEED_ADMIN_PASSWORD=PASSWORD,
    )
    if "REDIS_URL" not in os.environ and _redis_here():
        # This machine runs Redis: the shared cache production would have (catalog reads).
        env["REDIS_URL"] = "redis://127.0.0.1:6379/2"
        subprocess.run(["redis-cli", "-n", "2", "flushdb"], check=False, capture_output=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    mongo = None
    if not os.environ.get("MONGO_URL"):
        mongo = EmbeddedMongo(run_dir=workdir, data_dir=workdir / "mongo", database="ecommerce_bench").start()
        env["MONGO_URL"] = mongo.url
    server = None
    try:
        _drop_databases(env)
        _run([sys.executable, "manage.py", "setup_stores"], env)
        _run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env)
        _run([sys.executable, "manage.py", "seed", "--products", str(PRODUCTS), "--users", str(USERS),
              "--orders", "2000", "--seed", "7", "--stock", "1000000", "--password", PASSWORD], env)  # fmt: skip
        port = free_port()
        env["PORT"] = str(port)
        env["HOST_BIND"] = "127.0.0.1"
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi"], cwd=BASE_DIR, env=env
        )
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                _get(f"{base_url}/health/live")
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        users = []
        for i in range(1, 51):
            token = _post(f"{base_url}/api/auth/token", {"email": f"customer{i}@example.com", "password": PASSWORD})
            me = _get(f"{base_url}/api/users/me", token["access"])
            users.append({"id": str(me["id"]), "token": token["access"]})
        staff_token = _post(f"{base_url}/api/auth/token", {"email": env["SEED_ADMIN_EMAIL"], "password": PASSWORD})[
            "access"
        ]
        products = [p["id"] for p in _get(f"{base_url}/api/products?limit=100")["results"]]
        anonymous = [{"id": "", "token": ""}]
        ceiling, *endpoints = SCENARIOS
        _wrk(base_url, ceiling, anonymous, products, workdir)  # warms the workers up
        results = []
        for scenario in endpoints:
            as_staff = scenario[0] == "analytics revenue"
            callers = [{"id": "", "token": staff_token}] if as_staff else users
            if scenario[2].startswith("/api/products"):
                callers = anonymous
            print(f"bench: {scenario[0]} ...", flush=True)
            result = _wrk(base_url, scenario, callers, products, workdir)
            _settle(base_url)
            # The ceiling again, right after: the machine drifts by 10-20 % within a run,
            # so each endpoint is compared with the ceiling measured beside it.
            beside = _wrk(base_url, ceiling, anonymous, products, workdir, warm_up=False)
            _settle(base_url)
            result["ceiling_rps"] = beside["rps"]
            results.append(result)
        return _report(results, env)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        if mongo:
            mongo.stop()


def _report(results: list[dict], env: dict) -> int:
    for result in results:
        result["ratio"] = round(result["rps"] / result["ceiling_rps"], 3) if result["ceiling_rps"] else 0
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    setup = (
        f"{CONNECTIONS} connections, {SECONDS} s per endpoint after {WARM_UP_SECONDS} s of warm-up, "
        "wrk -t2 on the same 2 cores; "
        f"gunicorn WEB_CONCURRENCY={env.get('WEB_CONCURRENCY', 'default')} "
        f"GUNICORN_THREADS={env.get('GUNICORN_THREADS', '1')}; "
        f"MongoDB: {'MONGO_URL' if os.environ.get('MONGO_URL') else 'nx-27017'}; "
        f"catalog cache: {'Redis' if env.get('REDIS_URL') else 'none'}"
    )
    lines = [
        "| endpoint | req/s | p50 ms | p99 ms | ceiling beside it, req/s | ratio to ceiling | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['ceiling_rps']:.0f} "
            f"| {r['ratio']:.0%} | {r['errors']} |"
        )
    ceilings = [r["ceiling_rps"] for r in results]
    lines.append(
        f"\nThe ceiling (a bare Django JSON view) ranged {min(ceilings):.0f}-{max(ceilings):.0f} req/s in this run."
    )
    table = "\n".join(lines)
    print(f"\n{setup}\n\n{table}\n")
    (REPORT_DIR / "bench.json").write_text(json.dumps({"setup": setup, "results": results}, indent=2))
    latest = f"## Latest run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n{setup}\n\n{table}\n"
    _write_latest(REPORT_DIR / "bench.md", latest)
    return 0


START, END = "<!-- latest:start -->", "<!-- latest:end -->"


def _write_latest(path: Path, latest: str) -> None:
    """Replace the generated section of bench.md; the history written by hand around it stays."""
    block = f"{START}\n{latest}{END}"
    if path.exists() and START in (text := path.read_text()) and END in text:
        before, rest = text.split(START, 1)
        path.write_text(before + block + rest.split(END, 1)[1])
    else:
        path.write_text(f"# Benchmark\n\nWritten by `make bench`; see the README, Performance.\n\n{block}\n")


if __name__ == "__main__":
    sys.exit(main())
