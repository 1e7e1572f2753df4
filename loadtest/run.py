"""`make load-test`: Locust headless against HOST, a report in reports/, a summary, thresholds.

Environment: HOST (default http://localhost:8080), USERS (50), SPAWN_RATE (10), RUN_TIME (1m),
MAX_ERROR_RATE (0.01 = 1 %), MAX_P95_MS (1000), REPORT_DIR (reports), CHECK_BOOKS (1 when
HOST is this machine: runs `manage.py reconcile_orders --check` on the same stores afterwards:
reserved stock, reservations and open orders agree, and no Idempotency-Key made two orders).
Exits non-zero when the error rate or the overall p95 passes its threshold, or the books
do not balance.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from ecommerce.env import data_dir

BASE_DIR = Path(__file__).resolve().parent.parent


def _staff_credentials() -> dict:
    """Staff for the Staff users: LOCUST_STAFF_*, else the seed's admin."""
    email = os.environ.get("LOCUST_STAFF_EMAIL") or os.environ.get("SEED_ADMIN_EMAIL")
    password = os.environ.get("LOCUST_STAFF_PASSWORD") or os.environ.get("SEED_ADMIN_PASSWORD")
    credentials_file = data_dir() / "admin_credentials"
    if not (email and password) and credentials_file.exists():
        email, password = credentials_file.read_text().split(maxsplit=1)
    return {"LOCUST_STAFF_EMAIL": email or "", "LOCUST_STAFF_PASSWORD": (password or "").strip()}


def summarize(stats_csv: Path) -> tuple[list[dict], dict]:
    with stats_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    groups = [row for row in rows if row["Name"] != "Aggregated"]
    total = next(row for row in rows if row["Name"] == "Aggregated")
    return groups, total


def _ms(value: str) -> str:
    return "-" if value in ("", "N/A") else f"{float(value):.0f}"


def render(groups: list[dict], total: dict) -> str:
    lines = [
        f"{'endpoint group':<42} {'reqs':>7} {'fails':>6} {'rps':>7} {'p50':>6} {'p95':>6} {'p99':>6}",
        "-" * 86,
    ]
    for row in sorted(groups, key=lambda r: -int(r["Request Count"])) + [total]:
        name = f"{row['Type']} {row['Name']}".strip() if row is not total else "ALL"
        lines.append(
            f"{name[:42]:<42} {row['Request Count']:>7} {row['Failure Count']:>6} "
            f"{float(row['Requests/s']):>7.1f} {_ms(row['50%']):>6} {_ms(row['95%']):>6} {_ms(row['99%']):>6}"
        )
    return "\n".join(lines)


def main() -> int:
    host = os.environ.get("HOST", "http://localhost:8080")
    report_dir = Path(os.environ.get("REPORT_DIR", BASE_DIR / "reports"))
    report_dir.mkdir(parents=True, exist_ok=True)
    max_error_rate = float(os.environ.get("MAX_ERROR_RATE", "0.01"))
    max_p95_ms = float(os.environ.get("MAX_P95_MS", "1000"))
    command = [
        sys.executable, "-m", "locust",
        "-f", str(BASE_DIR / "loadtest" / "locustfile.py"),
        "--headless",
        "--host", host,
        "--users", os.environ.get("USERS", "50"),
        "--spawn-rate", os.environ.get("SPAWN_RATE", "10"),
        "--run-time", os.environ.get("RUN_TIME", "1m"),
        "--csv", str(report_dir / "locust"),
        "--html", str(report_dir / "locust.html"),
        "--only-summary",
        "--stop-timeout", "10",
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    print(f"Load testing {host}: {' '.join(command[3:])}", flush=True)
    print(
        "Shoppers sign up and log in from this one address: with the server's rate limits on, some wait "
        "out a 429 (Retry-After) before they shop; THROTTLE_ENABLED=0 on the server removes the wait.",
        flush=True,
    )
    subprocess.run(command, env={**os.environ, **_staff_credentials()}, check=False)

    groups, total = summarize(report_dir / "locust_stats.csv")
    requests = int(total["Request Count"])
    failures = int(total["Failure Count"])
    error_rate = failures / requests if requests else 1.0
    p95 = float(total["95%"] or 0)
    table = render(groups, total)
    verdicts = [
        f"error rate {error_rate:.2%} (max {max_error_rate:.2%})",
        f"p95 {p95:.0f} ms (max {max_p95_ms:.0f} ms)",
    ]
    ok = requests > 0 and error_rate <= max_error_rate and p95 <= max_p95_ms

    check_books = os.environ.get("CHECK_BOOKS")
    local = urlparse(host).hostname in ("localhost", "127.0.0.1", "::1")
    if check_books == "1" or (check_books is None and local):
        books = subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "reconcile_orders", "--check"], check=False
        )
        verdicts.append("books balance" if books.returncode == 0 else "BOOKS DO NOT BALANCE")
        money = subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "reconcile_payments", "--check"], check=False
        )
        verdicts.append("money balances" if money.returncode == 0 else "MONEY DOES NOT BALANCE")
        ok = ok and books.returncode == 0 and money.returncode == 0

    summary = f"{table}\n\n{requests} requests, {failures} failures; " + "; ".join(verdicts)
    summary += f"\n{'PASS' if ok else 'FAIL'}  (report: {report_dir / 'locust.html'})\n"
    (report_dir / "summary.txt").write_text(summary)
    print("\n" + summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
