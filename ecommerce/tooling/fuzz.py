"""Fuzz the API against its own OpenAPI schema with schemathesis, as staff and as a customer.

    python -m ecommerce.tooling.fuzz --url http://127.0.0.1:8080 --staff-token ... --customer-token ... --max-time 120
    python -m ecommerce.tooling.fuzz --max-time 300        # `make fuzz`: a fresh stack of its own

With `--url` it starts nothing and fuzzes that server with the tokens given. Without it, it
builds a throwaway shop: databases `ecommerce_fuzz` on the local PostgreSQL and MySQL (dropped
and re-created; override the servers with DATABASE_URL / MYSQL_URL), an in-memory nx-27017,
`setup_stores`, `seed`, a staff user and a customer with fresh tokens, and gunicorn on a free port.

Checks: no 5xx, every status documented, the documented content type, every body valid
against its schema. A run passes when schemathesis finds nothing in either role.
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Not run: positive_data_acceptance (a well-formed body that names an unknown product, or an
# email already taken, is rightly refused with 400/409 by the contract); negative_data_rejection
# (DRF is lenient where JSON Schema is strict: "5" is accepted for an integer field, so the
# fuzzer's "invalid" data is sometimes rightly accepted); and the stateful checks that need
# knowledge of the API (use_after_free, ensure_resource_availability; ignored_auth flags the
# public catalog reads, which take no token by design).

# The accounts whose tokens the runs use (FUZZ_PROTECTED_USERS, comma-separated ids). The fuzzer
# reuses ids it saw in responses, so it soon finds its own: see `before_call` below.
PROTECTED_USERS_ENV = "FUZZ_PROTECTED_USERS"


@dataclass
class RoleResult:
    role: str
    returncode: int
    output: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0


def token_user_id(token: str) -> str:
    """The `user_id` claim of a JWT (read, not verified: it is our own token)."""
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["user_id"])


def before_call(context, case, kwargs) -> None:
    """Schemathesis hook: never delete or demote the accounts the runs are signed in as.

    A customer may delete themselves and staff may delete anyone (the contract says so), and
    the fuzzer learns ids from responses (GET /api/users/me), so left alone it deletes its own
    account early and every later request is a 401. Such a request goes to user 0 instead,
    which does not exist: the answer (404) is still checked against the schema.
    """
    if case.operation.path != "/api/users/{id}" or case.method.upper() not in {"DELETE", "PUT", "PATCH"}:
        return
    protected = set(filter(None, os.environ.get(PROTECTED_USERS_ENV, "").split(",")))
    if str((case.path_parameters or {}).get("id")) not in protected:
        return
    demotes = isinstance(case.body, dict) and "is_staff" in case.body
    if case.method.upper() == "DELETE" or demotes:
        case.path_parameters = {**case.path_parameters, "id": "0"}


if __name__ == "_schemathesis_hooks":  # loaded by schemathesis through SCHEMATHESIS_HOOKS=<this file>
    import schemathesis

    schemathesis.hook(before_call)


def schemathesis_command(
    url: str, token: str, *, max_time: int, seed: int | None = None, report_dir: Path | None = None
) -> list[str]:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{url.rstrip('/')}/api/schema",
        "--url",
        url.rstrip("/"),
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {token}",
        "--max-time",
        str(max_time),
        "--request-timeout",
        "15",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--output-truncate",
        "true",
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    if report_dir is not None:
        command += ["--report", "junit,ndjson", "--report-dir", str(report_dir)]
    return command


def run_role(
    url: str,
    token: str,
    *,
    role: str,
    max_time: int,
    protected: list[str],
    seed: int | None = None,
    report_dir: Path | None = None,
) -> RoleResult:
    role_reports = report_dir / role if report_dir else None
    print(f"schemathesis as {role}, {max_time}s ...", flush=True)
    command = schemathesis_command(url, token, max_time=max_time, seed=seed, report_dir=role_reports)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": __file__, PROTECTED_USERS_ENV: ",".join(protected)}
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as workdir:
        # Its report files and config lookups stay out of the repository.
        completed = subprocess.run(
            command, cwd=workdir, capture_output=True, text=True, timeout=max_time + 120, env=env
        )
    return RoleResult(role, completed.returncode, completed.stdout + completed.stderr)


def fuzz(
    url: str, tokens: dict[str, str], *, max_time: int, seed: int | None = None, report_dir: Path | None = None
) -> list[RoleResult]:
    """Fuzz `url` once per role in `tokens` ({"staff": ..., "customer": ...}), `max_time` seconds each,
    keeping JUnit and NDJSON reports in `report_dir`/<role> when given.

    The roles run in turn; no run may delete or demote any of the accounts in `tokens`.
    """
    protected = [token_user_id(token) for token in tokens.values()]
    return [
        run_role(url, token, role=role, max_time=max_time, protected=protected, seed=seed, report_dir=report_dir)
        for role, token in tokens.items()
    ]


# --- `make fuzz`: a stack of its own --------------------------------------------------------

FUZZ_DATABASE = "ecommerce_fuzz"
DEFAULT_SERVERS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ecommerce",
    "MYSQL_URL": "mysql://root@127.0.0.1:3306/ecommerce",
}


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _drop_sql_databases() -> None:
    """Fresh databases for every run: drop what a previous run left (setup_stores re-creates)."""
    import MySQLdb
    import psycopg
    from django.db import connections
    from psycopg import sql

    pg = connections["default"].settings_dict
    params = {"host": pg["HOST"], "port": pg["PORT"], "user": pg["USER"], "password": pg["PASSWORD"]}
    with psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}, connect_timeout=5
    ) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(pg["NAME"])))
    my = connections["mysql"].settings_dict
    conn = MySQLdb.connect(
        host=my["HOST"] or "127.0.0.1",
        port=int(my["PORT"] or 3306),
        user=my["USER"] or "root",
        password=my["PASSWORD"] or "",
        connect_timeout=5,
    )
    try:
        escaped = my["NAME"].replace("`", "``")
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{escaped}`")
    finally:
        conn.close()


def mint_tokens(*, lifetime: timedelta) -> dict[str, str]:
    """A staff user and a customer, and an access token for each that outlives the run."""
    from rest_framework_simplejwt.tokens import AccessToken

    from users.models import User

    password = secrets.token_urlsafe(16)
    staff = User.objects.create_user("fuzz-staff@example.com", password, is_staff=True)
    customer = User.objects.create_user("fuzz-customer@example.com", password)
    tokens = {}
    for role, user in (("staff", staff), ("customer", customer)):
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=lifetime)
        tokens[role] = str(token)
    return tokens


def _prepare_shop(*, token_lifetime: timedelta) -> dict[str, str]:
    """Migrate and seed the fuzz databases; make the two accounts; answer their tokens."""
    from django.core.management import call_command
    from django.db import connections

    _drop_sql_databases()
    call_command("setup_stores")
    call_command("seed", "--products", "30", "--users", "5", "--orders", "20", "--no-admin")
    tokens = mint_tokens(lifetime=token_lifetime)
    connections.close_all()
    return tokens


def run_own_stack(*, max_time: int, seed: int | None, report_dir: Path | None) -> list[RoleResult]:
    from ecommerce.tooling.embedded import EmbeddedMongo

    run_dir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    mongo = EmbeddedMongo(run_dir=run_dir, database=FUZZ_DATABASE).start()
    server = None
    try:
        for variable, default in DEFAULT_SERVERS.items():
            os.environ[variable] = _with_database(os.environ.get(variable) or default, FUZZ_DATABASE)
        os.environ["MONGO_URL"] = mongo.url
        os.environ["DJANGO_SETTINGS_MODULE"] = "ecommerce.settings"
        # A key for this run only: the tokens minted here are signed with it.
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        os.environ.setdefault("DATA_DIR", str(run_dir))

        import django

        django.setup()
        print(f"Preparing {FUZZ_DATABASE} on PostgreSQL, MySQL and {mongo.url} ...", flush=True)
        tokens = _prepare_shop(token_lifetime=timedelta(seconds=2 * max_time + 600))

        from ecommerce.testing.helpers import LiveServer

        # Production settings (DEBUG off, Argon2), throttling off so the fuzzer is not mostly 429s.
        server = LiveServer(workers=2, extra_env={"DJANGO_SETTINGS_MODULE": "ecommerce.settings"}).start()
        print(f"Fuzzing {server.url} for {max_time}s per role ...", flush=True)
        return fuzz(server.url, tokens, max_time=max_time, seed=seed, report_dir=report_dir)
    finally:
        if server:
            server.stop()
        mongo.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running server; without it a fresh stack is started.")
    parser.add_argument("--staff-token", help="Bearer token of a staff user (with --url).")
    parser.add_argument("--customer-token", help="Bearer token of a customer (with --url).")
    parser.add_argument("--max-time", type=int, default=120, help="Seconds of fuzzing per role (default 120).")
    parser.add_argument("--seed", type=int, default=None, help="Reproduce a run.")
    parser.add_argument(
        "--report-dir", type=Path, default=BASE_DIR / "reports" / "fuzz", help="JUnit and NDJSON reports per role."
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.url:
        if not (args.staff_token and args.customer_token):
            parser.error("--url needs --staff-token and --customer-token")
        tokens = {"staff": args.staff_token, "customer": args.customer_token}
        results = fuzz(args.url, tokens, max_time=args.max_time, seed=args.seed, report_dir=args.report_dir)
    else:
        results = run_own_stack(max_time=args.max_time, seed=args.seed, report_dir=args.report_dir)

    for result in results:
        print(f"\n===== schemathesis as {result.role}: {'passed' if result.passed else 'FAILED'} =====")
        print(result.output)
    failed = [r.role for r in results if not r.passed]
    verdict = f"failures as {', '.join(failed)}" if failed else "no failures"
    print(f"Fuzzing done in {time.monotonic() - started:.0f}s: {verdict}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
