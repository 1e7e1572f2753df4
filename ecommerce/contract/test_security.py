"""Security checks that run with the suite: bandit finds nothing at medium severity and
confidence in the project's code, and no secret is committed to the repository.

(`manage.py check --deploy` under production settings is deploy/tests/test_production_settings.py.)
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
BANDIT = Path(sys.executable).with_name("bandit")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=BASE_DIR, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def tracked():
    try:
        files = tracked_files()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert files
    return files


# --- bandit ------------------------------------------------------------------------------


def test_bandit_finds_nothing_at_medium_severity_and_confidence(tracked):
    # The project's code: every top-level package or file holding tracked Python, tests aside
    # (pyproject's [tool.bandit] excludes tests/ and .venv; conftest.py is test code too).
    targets = sorted({name.split("/")[0] for name in tracked if name.endswith(".py")} - {"conftest.py"})
    assert {"ecommerce", "users", "catalog", "orders", "gunicorn.conf.py"} <= set(targets)
    completed = subprocess.run(
        [str(BANDIT), "-r", *targets, "-ll", "-ii", "-c", "pyproject.toml", "-f", "json", "-q"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(completed.stdout)
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_severity']}/{r['issue_confidence']} "
        f"{r['issue_text']}"
        for r in report["results"]
    ]
    assert not findings, "bandit:\n" + "\n".join(findings)
    assert not report["errors"], report["errors"]
    assert completed.returncode == 0, completed.stderr
    scanned = {Path(name).parts[0] if Path(name).parts[0] != "." else Path(name).parts[1] for name in report["metrics"]}
    assert "orders" in scanned and not any("/tests/" in name for name in report["metrics"])


# --- secrets in the repository ------------------------------------------------------------

# Values anyone can see are not secrets: a test or build key that says so, a placeholder.
FAKE_MARKERS = ("not-a-secret", "not-for-production", "test-only", "insecure", "change-me", "example", "dummy")
PLACEHOLDER = re.compile(
    r"^(?:<[^>]*>|\$\{?[A-Za-z_]+\}?|[A-Z_]*PASSWORD[A-Z_]*|pass|password|pw|pwd|secret|\*+|x+|\.+)$", re.I
)
# A value that is itself an environment variable's name ("STRIPE_WEBHOOK_SECRET") names a secret, it is none.
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")

RULES = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"(?i)aws_secret_access_key[\"']?\s*[=:]\s*[\"']?(?P<value>[A-Za-z0-9/+=]{40})"
    ),
    "GitHub token": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{30,}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "Django startproject key": re.compile(r"django-insecure-[A-Za-z0-9!@#$%^&*(\-_=+)]{40,}"),
    # SECRET_KEY = "literal", "SECRET_KEY": "literal", setdefault("SECRET_KEY", "literal")...
    "SECRET_KEY literal": re.compile(r"SECRET_KEY[\"']?\s*[=:,]\s*[rbf]?[\"'](?P<value>[^\"'\s]{16,})[\"']"),
    # ...and SECRET_KEY=literal in env files, shell and Dockerfiles.
    "SECRET_KEY assignment": re.compile(
        r"(?:^|\s)(?:export\s+)?SECRET_KEY\s*=\s*(?P<value>[^\s\"'$(){}<>`]{16,})(?=\s|$)"
    ),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@\"'<>]+:(?P<value>[^\s@/\"'<>]+|<[^>\s]*>)@"),
}

# Documented places that may show such values, each for a reason.
ALLOWED_FILES = {
    ".env.example": "every variable with a placeholder value",
    "deploy/k8s/secrets.env.example": "the Kubernetes Secret's template, placeholders only",
}


def _is_fake(value: str | None) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    return bool(PLACEHOLDER.match(value) or ENV_NAME.match(value)) or any(marker in lowered for marker in FAKE_MARKERS)


def scan_text(text: str) -> list[tuple[int, str]]:
    """(line, rule) for every likely secret in `text`."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for rule, pattern in RULES.items():
            for match in pattern.finditer(line):
                if not _is_fake(match.groupdict().get("value")):
                    found.append((number, rule))
    return found


def test_no_secret_is_committed(tracked):
    findings = []
    for name in tracked:
        if name in ALLOWED_FILES:
            continue
        path = BASE_DIR / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        findings += [f"{name}:{line}: {rule}" for line, rule in scan_text(data.decode("utf-8", "replace"))]
    assert not findings, "Possible secrets committed:\n" + "\n".join(findings)


def test_no_credential_file_is_tracked(tracked):
    credential = re.compile(r"(^|/)(\.env|id_(rsa|dsa|ecdsa|ed25519)|.*\.(pem|key|p12|pfx|jks|keystore))$")
    assert [name for name in tracked if credential.search(name)] == []


# The scanner itself: each rule catches what it is for (the samples are assembled here so
# that this file holds none of them), and leaves the documented fakes alone.
SAMPLES = {
    "private key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    "AWS access key id": "key = 'AKIA" + "Q3EGRMXSZ7TKY5PL'",
    "AWS secret access key": "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYq3k9Zy2uXw",
    "GitHub token": "token: ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "Slack token": "xoxb-" + "1234567890-abcdefghij",
    "Google API key": "AIza" + "SyD3x9Q2w8E7r6T5y4U3i2O1p0AsDfGhJkL",
    "JSON web token": "Bearer eyJ" + "hbGciOiJIUzI1NiJ9.eyJ" + "zdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl",
    "Django startproject key": "'django-insecure-" + "k2$9v!x8q@z&w7e5r3t1y0u-i9o8p7a6s5d4f3g2h1j0'",
    "SECRET_KEY literal": 'SECRET_KEY = "' + 'q8Zr2vN5tY7wK1mB4xC6pL9s"',
    "SECRET_KEY assignment": "export SECRET_KEY=" + "q8Zr2vN5tY7wK1mB4xC6pL9s",
    "password in a URL": "DATABASE_URL=postgres://shop:" + "Xk29fj3LmQ@db:5432/shop",
}
FAKES = [
    'os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")',
    "RUN SECRET_KEY=build-only-not-a-secret python manage.py collectstatic",
    "SECRET_KEY = _secret_key()",
    "SECRET_KEY=$secret_key",
    "        SECRET_KEY=secrets.token_urlsafe(50),",
    'return "django-insecure-development-only"',
    "MONGO_URL=mongodb://ecommerce:change-me-mongo@mongodb:27017/ecommerce",
    "DATABASE_URL=postgres://ecommerce:<POSTGRES_PASSWORD>@postgres:5432/ecommerce",
    "mongodb://ecommerce:PASSWORD@mongodb-0.mongodb:27017/ecommerce",
    "postgres://postgres:${POSTGRES_PASSWORD}@postgres:5432/ecommerce",
    "postgres://postgres@127.0.0.1:5432/ecommerce",
    "| `DATABASE_URL` | PostgreSQL, e.g. `postgres://user:pass@host:5432/ecommerce` |",
    'stripe = {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}',
    '{"url": "http://user:pw@127.0.0.1:9/x", "events": ["*"]},',
]


@pytest.mark.parametrize("rule", sorted(SAMPLES))
def test_the_scanner_catches_each_kind_of_secret(rule):
    assert rule in {found for _, found in scan_text(SAMPLES[rule])}


@pytest.mark.parametrize("line", FAKES)
def test_the_scanner_leaves_documented_fakes_alone(line):
    assert scan_text(line) == []
