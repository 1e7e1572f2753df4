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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
    base_url: str,
    scenario: tuple,
    users: list[dict],
    products: list[str],
    workdir: Path,
    warm_up: bool = True,
    seconds: int = SECONDS,
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
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), base_url],
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


def _abba(first: Callable[[int], dict], second: Callable[[int], dict], seconds: int = SECONDS) -> tuple[dict, dict]:
    """Two figures to be divided, each taken in two halves in the order first, second, second,
    first: this machine's speed drifts by 20-40 % within a minute, and a ratio of two figures
    taken one after the other measures that drift as much as the code; in this order a drift
    that is steady over the block falls on both alike. Each figure is the mean of its halves
    (its p99 the worse half's)."""
    half = max(1, seconds // 2)
    a1, b1, b2, a2 = first(half), second(half), second(half), first(half)
    return _combined(a1, a2), _combined(b1, b2)


def _combined(one: dict, other: dict) -> dict:
    def mean(key: str) -> float | None:
        return (one[key] + other[key]) / 2 if one.get(key) is not None else None

    return {
        **one,
        "rps": mean("rps"),
        "orders_per_s": mean("orders_per_s"),
        "p50_ms": mean("p50_ms"),
        "p99_ms": max(one["p99_ms"], other["p99_ms"]),
        "errors": one["errors"] + other["errors"],
        **({"requests": one["requests"] + other["requests"]} if "requests" in one else {}),
    }


def _bench_env(**overrides: str) -> dict:
    env = dict(os.environ)
    env.update(
        # Production's settings plus the /bench/ceiling view (the machine's ceiling).
        DJANGO_SETTINGS_MODULE="ecommerce.tooling.bench_settings",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce_bench"),
        MYSQL_URL=os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/ecommerce_bench"),
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + os.urandom(24).hex()),
        DEBUG="0",
        THROTTLE_ENABLED="0",
        ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
        SEED_ADMIN_EMAIL="bench-admin@example.com",
        SEED_ADMIN_PASSWORD=PASSWORD,
        **overrides,
    )
    if "REDIS_URL" not in os.environ and _redis_here():
        # This machine runs Redis: the shared cache production would have (catalog reads).
        env["REDIS_URL"] = "redis://127.0.0.1:6379/2"
        subprocess.run(["redis-cli", "-n", "2", "flushdb"], check=False, capture_output=True)
    return env


@contextmanager
def _api_server(env: dict, workdir: Path, *, users: int = 50) -> Iterator[dict]:
    """The API on fresh databases, seeded, under gunicorn; yields its URL, `users` logged-in
    customers, a staff token and product ids."""
    mongo = server = None
    if not os.environ.get("MONGO_URL"):
        mongo = EmbeddedMongo(run_dir=workdir, data_dir=workdir / "mongo", database="ecommerce_bench").start()
        env["MONGO_URL"] = mongo.url
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
        customers = []
        for i in range(1, users + 1):
            token = _post(f"{base_url}/api/auth/token", {"email": f"customer{i}@example.com", "password": PASSWORD})
            me = _get(f"{base_url}/api/users/me", token["access"])
            customers.append({"id": str(me["id"]), "token": token["access"]})
        staff_token = _post(f"{base_url}/api/auth/token", {"email": env["SEED_ADMIN_EMAIL"], "password": PASSWORD})[
            "access"
        ]
        # What can be bought: a parent is a 400 in a cart or an order (its variants are sold).
        products = [p["id"] for p in _get(f"{base_url}/api/products?limit=100")["results"] if p["kind"] != "parent"]
        yield {"url": base_url, "users": customers, "staff_token": staff_token, "products": products}
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        if mongo:
            mongo.stop()


def main() -> int:
    if os.environ.get("BENCH_PEER"):
        return peer_main(os.environ["BENCH_PEER"])
    if os.environ.get("BENCH_CACHE"):  # issue 19: a cold start and expiries under load, the embedded default
        from loadtest.bench_cache import main as cache_main

        return cache_main()
    env = _bench_env()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    with _api_server(env, workdir) as api:
        base_url, users, staff_token, products = api["url"], api["users"], api["staff_token"], api["products"]
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

            def endpoint(seconds: int, scenario=scenario, callers=callers) -> dict:
                measured = _wrk(base_url, scenario, callers, products, workdir, warm_up=False, seconds=seconds)
                _settle(base_url)
                return measured

            def bare(seconds: int) -> dict:
                measured = _wrk(base_url, ceiling, anonymous, products, workdir, warm_up=False, seconds=seconds)
                _settle(base_url)
                return measured

            endpoint(WARM_UP_SECONDS)  # unrecorded: caches, connections
            # Each endpoint against the ceiling measured beside it, interleaved (_abba).
            result, beside = _abba(endpoint, bare)
            result["ceiling_rps"] = beside["rps"]
            results.append(result)
        return _report(results, env)


def _report(results: list[dict], env: dict) -> int:
    for result in results:
        result["ratio"] = round(result["rps"] / result["ceiling_rps"], 3) if result["ceiling_rps"] else 0
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    setup = (
        f"{CONNECTIONS} connections, {SECONDS} s per endpoint after {WARM_UP_SECONDS} s of warm-up, "
        "taken in halves interleaved with the ceiling's (endpoint, ceiling, ceiling, endpoint), "
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


def _write_latest(path: Path, latest: str, start: str = START, end: str = END) -> None:
    """Replace one generated section of bench.md; the history written by hand around it stays."""
    block = f"{start}\n{latest}{end}"
    text = (
        path.read_text() if path.exists() else "# Benchmark\n\nWritten by `make bench`; see the README, Performance.\n"
    )
    if start in text and end in text:
        before, rest = text.split(start, 1)
        path.write_text(before + block + rest.split(end, 1)[1])
    else:
        path.write_text(f"{text.rstrip()}\n\n{block}\n")


# --- Side by side with a peer (BENCH_PEER=oscar) -----------------------------------------------------
#
# The same four journeys on this API and on django-oscar + django-oscar-api (built from PyPI by
# the peer's own scripts into a throwaway folder under var/), both under gunicorn sync with the
# same worker count, loaded one at a time by the same wrk, alternating sides, BENCH_ROUNDS
# rounds; each round's ratio is taken between figures measured a minute apart.

PEER_SCRIPTS = Path(os.environ.get("BENCH_PEER_SCRIPTS", BASE_DIR.parent / "shared" / "peer-oscar"))
PEER_DIR = Path(os.environ.get("BENCH_PEER_DIR", BASE_DIR / "var" / "oscar-peer"))
PEER_PRODUCTS = 1000
WORKERS = os.environ.get("BENCH_WORKERS", "4")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
# Shoppers rotated over by add to cart: enough that no cart grows past a dozen lines in a run
# (the peer's script starts a new basket every 5 adds; a cart answers with all its lines).
CART_USERS = 200
# The checkout journey keeps one shopper per connection: wrk cannot tie a response to a
# connection, so -t equals -c and each thread runs its own shopper's add, order, add, ...
CHECKOUT_CONNECTIONS = 8
PEER_ROWS = [
    # name, unit, wrk connections
    ("product detail", "req/s", CONNECTIONS),
    ("product list (20)", "req/s", CONNECTIONS),
    ("add to cart", "req/s", 32),
    ("checkout (add + place order)", "orders/s", CHECKOUT_CONNECTIONS),
]

OURS_LUA = {
    "product detail": """
local products = {products}
local tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args) n = 0 end
function request()
  n = n + 1
  return wrk.format("GET", "/api/products/" .. products[(n * 7919 + tid * 104729) % #products + 1])
end
""",
    # The first 40 pages of 20, as the peer's list.lua walks them.
    "product list (20)": """
local tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args) n = 0 end
function request()
  n = n + 1
  return wrk.format("GET", "/api/products?limit=20&offset=" .. ((n * 7 + tid) % 40) * 20)
end
""",
    "add to cart": """
local users = {users}
local products = {products}
local tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args) n = 0 end
function request()
  n = n + 1
  local user = users[(n * 2 + tid) % #users + 1]
  local product = products[(n * 7919 + tid * 104729) % #products + 1]
  return wrk.format("POST", "/api/cart/" .. user.id .. "/items",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. user.token}},
    '{{"product_id":"' .. product .. '","quantity":1}}')
end
""",
    "checkout (add + place order)": """
local users = {users}
local products = {products}
local threads = {{}}
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args)
  user = users[tid]
  headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. user.token}}
  -- wrk calls request() once on the first thread before the run only to check it: no step then
  verify_call = (tid == 1)
  ordering, n, orders, failures = false, 0, 0, 0
end
function request()
  if verify_call then
    verify_call = false
    return wrk.format("GET", "/api/cart/" .. user.id, headers)
  end
  if ordering then
    return wrk.format("POST", "/api/orders", headers,
      '{{"from_cart":true,"shipping_address":{{"name":"Bench","line1":"1 Main St","city":"Paris",'
      .. '"postal_code":"75001","country":"FR"}}}}')
  end
  n = n + 1
  return wrk.format("POST", "/api/cart/" .. user.id .. "/items", headers,
    '{{"product_id":"' .. products[(n * 7919 + tid * 104729) % #products + 1] .. '","quantity":1}}')
end
function response(status, hdrs, body)
  if ordering then
    if status == 201 then orders = orders + 1 else failures = failures + 1 end
    ordering = false
  elseif status == 201 then
    ordering = true
  else
    failures = failures + 1
  end
end
function done(summary, latency, requests)
  local o, f = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("orders"); f = f + t:get("failures") end
  io.write(string.format("orders placed: %d (%.1f/s), failed steps: %d\\n", o, o / (summary.duration / 1e6), f))
end
""",
}


def _lua_table(items: list) -> str:
    return "{" + ",".join(items) + "}"


def _wrk_once(base_url: str, script: Path, connections: int, seconds: int, args: list[str], threads: int = 2) -> dict:
    # A 10 s timeout (wrk's default is 2 s): a slow answer counts in the latency, not as lost.
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s",
               str(script), base_url]  # fmt: skip
    if args:
        command += ["--", *args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    orders = re.search(r"orders placed: (\d+) \(([\d.]+)/s\)", output)
    failed = re.search(r"failed steps: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "orders_per_s": float(orders.group(2)) if orders else None,
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "errors": sum(
            int(m.group(1))
            for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"timeout (\d+)")
            if (m := re.search(pattern, output))
        )
        + (int(failed.group(1)) if failed else 0),
    }


def _answer_seconds(url: str) -> float:
    started = time.perf_counter()
    try:
        requests.get(url, timeout=5)
    except requests.RequestException:
        return 5.0
    return time.perf_counter() - started


def _settle_on(url: str, idle_seconds: float) -> None:
    """Wait until `url` answers about as fast as it did idle (the peer's pages take longer than
    ours, so a fixed threshold would wait on one side only); a minute at most."""
    deadline = time.monotonic() + 60
    while _answer_seconds(url) > 2 * idle_seconds + 0.02 and time.monotonic() < deadline:
        time.sleep(0.1)


class _Side:
    """One server under test: how to load each row, and where to check it has settled."""

    def __init__(self, name: str, base_url: str, settle_url: str, scripts: dict[str, tuple[Path, list[str]]]):
        self.name, self.base_url, self.settle_url, self.scripts = name, base_url, settle_url, scripts
        self.idle_seconds = sorted(_answer_seconds(settle_url) for _ in range(7))[3]

    def measure(self, row: tuple, seconds: int) -> dict:
        """`row` loaded for `seconds` (a warm-up when unrecorded), then settled."""
        name, _unit, connections = row
        script, args = self.scripts[name]
        threads = connections if name.startswith("checkout") else 2
        result = _wrk_once(self.base_url, script, connections, seconds, args, threads)
        _settle_on(self.settle_url, self.idle_seconds)
        return result


def _peer_oscar(workdir: Path):
    """Builds (or resets) the peer with its own setup.sh, then serves it; returns (side, stop)."""
    setup, serve = PEER_SCRIPTS / "setup.sh", PEER_SCRIPTS / "serve.sh"
    if not setup.exists():
        raise SystemExit(f"no oscar peer scripts at {PEER_SCRIPTS} (BENCH_PEER_SCRIPTS)")
    port = free_port()
    env = {**os.environ, "PEER_DIR": str(PEER_DIR), "PEER_PRODUCTS": str(PEER_PRODUCTS), "PORT": str(port),
           "WORKERS": WORKERS, "WORKER_CLASS": "sync", "THREADS": "1"}  # fmt: skip
    for key in ("DATABASE_URL", "MYSQL_URL", "MONGO_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"):
        env.pop(key, None)
    print(f"bench: building the oscar peer in {PEER_DIR} (its setup.sh; the first time installs it from PyPI)")
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    with open(workdir / "peer-setup.log", "wb") as log:
        if subprocess.run(["bash", str(setup)], env=env, stdout=log, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"the oscar peer's setup.sh failed: see {workdir / 'peer-setup.log'}")
    subprocess.run(["bash", str(serve), "start"], env=env, check=True)
    base_url = f"http://127.0.0.1:{port}"
    scripts = {
        "product detail": (PEER_SCRIPTS / "detail.lua", []),
        "product list (20)": (PEER_SCRIPTS / "list.lua", []),
        "add to cart": (PEER_SCRIPTS / "add_to_basket.lua", [str(PEER_PRODUCTS), "5", "1024"]),
        "checkout (add + place order)": (PEER_SCRIPTS / "checkout.lua", [str(PEER_PRODUCTS), "1"]),
    }
    side = _Side("oscar", base_url, f"{base_url}/api/products/1/", scripts)
    return side, lambda: subprocess.run(["bash", str(serve), "stop"], env=env, check=False)


def _ours(api: dict, workdir: Path) -> _Side:
    products = [f'"{p}"' for p in api["products"]]
    users = [f'{{id="{u["id"]}",token="{u["token"]}"}}' for u in api["users"]]
    lua_users = {
        # Shoppers 1..8 check out (one a connection); the others fill carts.
        "checkout (add + place order)": _lua_table(users[:CHECKOUT_CONNECTIONS]),
        "add to cart": _lua_table(users[CHECKOUT_CONNECTIONS:]),
    }
    scripts = {}
    for name, template in OURS_LUA.items():
        script = workdir / f"ours_{re.sub(r'[^a-z]+', '_', name)}.lua"
        script.write_text(template.format(products=_lua_table(products), users=lua_users.get(name, "{}")))
        scripts[name] = (script, [])
    return _Side("ours", api["url"], f"{api['url']}/health/live", scripts)


def peer_main(peer: str) -> int:
    if peer != "oscar":
        raise SystemExit(f"BENCH_PEER={peer}: the only peer is oscar")
    workdir = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    # Catalog entries are invalidated by generation, so their lifetime only bounds memory; a
    # run this long would otherwise cross the default minute and measure misses under load
    # (the plain bench's concern), not the steady state the peer is compared in.
    env = _bench_env(WEB_CONCURRENCY=WORKERS, GUNICORN_THREADS="1", CATALOG_CACHE_SECONDS="3600")
    oscar, stop_oscar = _peer_oscar(workdir)
    try:
        with _api_server(env, workdir, users=CART_USERS + CHECKOUT_CONNECTIONS) as api:
            # A thousand products, as the peer's catalog: detail reads spread over all of them.
            api["products"] = [
                p["id"] for offset in range(0, PEER_PRODUCTS, 100)
                for p in _get(f"{api['url']}/api/products?limit=100&offset={offset}")["results"]
                if p["kind"] != "parent"
            ]  # fmt: skip
            # Steady state, as the peer's pages (which it never caches) are: every page the reads
            # will ask for is in the catalog cache before the first figure. What a cold or
            # expiring cache costs under load is the plain bench's business, not a comparison's.
            paths = [f"/api/products?limit=20&offset={page * 20}" for page in range(40)]
            paths += [f"/api/products/{product}" for product in api["products"]]
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda path: requests.get(f"{api['url']}{path}", timeout=60), paths))
            ours = _ours(api, workdir)
            rounds = []
            for number in range(ROUNDS):
                measured = {}
                for row in PEER_ROWS:
                    # Alternate who goes first, so neither side always meets the warmer machine.
                    sides = (ours, oscar) if (number + PEER_ROWS.index(row)) % 2 == 0 else (oscar, ours)
                    print(f"bench: round {number + 1}/{ROUNDS}, {row[0]}, {sides[0].name} first ...", flush=True)
                    for side in sides:
                        side.measure(row, WARM_UP_SECONDS)
                    first, second = _abba(
                        *(lambda seconds, side=side, row=row: side.measure(row, seconds) for side in sides)
                    )
                    for side, result in zip(sides, (first, second), strict=True):
                        # The figure compared: orders a second for checkout, requests otherwise.
                        result["value"] = result["orders_per_s"] if row[1] == "orders/s" else result["rps"]
                        measured[(row[0], side.name)] = result
                rounds.append(measured)
            return _report_peer(rounds, env)
    finally:
        stop_oscar()


def _span(values: list[float], digits: int = 0) -> str:
    low, high = min(values), max(values)
    return (
        f"{low:,.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:,.{digits}f} – {high:,.{digits}f}"
    )


def _report_peer(rounds: list[dict], env: dict) -> int:
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        "| endpoint | ours | oscar-api | ratio (per round) | ours p99 ms | oscar p99 ms | non-2xx ours / oscar |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows_json = []
    for name, unit, _connections in PEER_ROWS:
        ours = [r[(name, "ours")] for r in rounds]
        oscar = [r[(name, "oscar")] for r in rounds]
        ratios = [a["value"] / b["value"] if b["value"] else 0 for a, b in zip(ours, oscar, strict=True)]
        lines.append(
            f"| {name} | {_span([o['value'] for o in ours])} {unit} | {_span([o['value'] for o in oscar])} "
            f"| {_span(ratios, 1)}× | {_span([o['p99_ms'] for o in ours])} | {_span([o['p99_ms'] for o in oscar])} "
            f"| {sum(o['errors'] for o in ours)} / {sum(o['errors'] for o in oscar)} |"
        )
        rows_json.append({"name": name, "unit": unit, "ours": ours, "oscar": oscar, "ratios": ratios})
    setup = (
        f"django-oscar 4.2.1 + django-oscar-api 3.3.0 (../shared/peer-oscar, built in {PEER_DIR.name}/) against this "
        f"API, both gunicorn sync x{WORKERS} on this machine's PostgreSQL (ours also on MariaDB, "
        f"{'MONGO_URL' if os.environ.get('MONGO_URL') else 'nx-27017'} and "
        f"{'Redis' if env.get('REDIS_URL') else 'no cache'}); wrk on the same cores, {SECONDS} s per figure after "
        f"{WARM_UP_SECONDS} s of warm-up, taken in halves interleaved (ours, oscar, oscar, ours or the other way), "
        f"{ROUNDS} rounds alternating which side goes first; "
        "ours with its catalog cache primed (entries kept an hour); "
        f"reads at {CONNECTIONS} connections, "
        f"add to cart at 32, checkout at {CHECKOUT_CONNECTIONS} (one shopper a connection: add one item, order it); "
        f"load average at the end {load} (1/5/15 min) on 2 cores"
    )
    table = "\n".join(lines)
    print(f"\n{setup}\n\n{table}\n")
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "bench-oscar.json").write_text(json.dumps({"setup": setup, "rows": rows_json}, indent=2))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = f"## Side by side with django-oscar ({when}, `BENCH_PEER=oscar make bench`)\n\n{setup}\n\n{table}\n"
    _write_latest(REPORT_DIR / "bench.md", section, PEER_START, PEER_END)
    return 0


PEER_START, PEER_END = "<!-- peer:start -->", "<!-- peer:end -->"


if __name__ == "__main__":
    sys.exit(main())
