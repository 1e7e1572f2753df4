"""deploy-k8s.sh and gen-k8s-secrets.sh, run against a stand-in kubectl that records each call."""

import base64
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from deploy.tests import files

# Answers of a cluster where everything goes well; every call is appended to $KUBECTL_LOG.
FAKE_KUBECTL = r"""#!/usr/bin/env bash
echo "$*" >>"$KUBECTL_LOG"
case "$*" in
  kustomize*) cat "$RENDERED" ;;
  "apply -f "*) cat "$3" >"$APPLIED" ;;
  *"get job ecommerce-migrate"*) printf 'Complete ' ;;
  *"get service ecommerce-api"*) printf '203.0.113.10' ;;
  *"get hpa ecommerce-api"*) printf '3' ;;
  *"get deployment ecommerce-api"*) printf '3' ;;
esac
"""

RENDERED = """apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - image: registry.example.com/shop/ecommerce-api:1.0.0
        - command: ["python", "manage.py", "setup_stores"]
          image: registry.example.com/shop/ecommerce-api:1.0.0
        - image: postgres:16.10-bookworm
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - command: ["python", "manage.py", "reconcile_orders"]
              image: registry.example.com/shop/ecommerce-api:1.0.0
            - image: redis:7.4.9-alpine
"""


def generate_secrets(target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(files.DEPLOY / "gen-k8s-secrets.sh"), str(target)], capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def cluster(tmp_path):
    """A kustomize directory with generated secrets, and a kubectl that records its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(FAKE_KUBECTL)
    kubectl.chmod(0o755)
    kustomize_dir = tmp_path / "k8s"
    kustomize_dir.mkdir()
    assert generate_secrets(kustomize_dir / "secrets.env").returncode == 0
    (tmp_path / "rendered.yaml").write_text(RENDERED)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "KUSTOMIZE_DIR": str(kustomize_dir),
        "KUBECTL_LOG": str(tmp_path / "calls.log"),
        "RENDERED": str(tmp_path / "rendered.yaml"),
        "APPLIED": str(tmp_path / "applied.yaml"),
    }
    env.pop("IMAGE", None)
    return tmp_path, env


def deploy(env: dict) -> subprocess.CompletedProcess:
    script = files.DEPLOY / "deploy-k8s.sh"
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)


def test_deploy_applies_in_order_and_waits_for_each_step(cluster):
    tmp_path, env = cluster
    result = deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    # The rendered manifests are in a temporary file of the script's: name it <rendered>.
    calls = [re.sub(r"-f \S+", "-f <rendered>", line) for line in (tmp_path / "calls.log").read_text().splitlines()]
    rendered_dir = env["KUSTOMIZE_DIR"]
    assert calls == [
        "version",
        f"kustomize {rendered_dir}",
        "apply -f <rendered> -l app.kubernetes.io/component in (platform,config)",
        "apply -f <rendered> -l app.kubernetes.io/component in (database,cache)",
        "-n ecommerce rollout status statefulset/postgres --timeout=600s",
        "-n ecommerce rollout status statefulset/mysql --timeout=600s",
        "-n ecommerce rollout status statefulset/mongodb --timeout=600s",
        "-n ecommerce rollout status deployment/redis --timeout=600s",
        "-n ecommerce delete job ecommerce-migrate --ignore-not-found --wait=true",
        "apply -f <rendered> -l app.kubernetes.io/component in (migration)",
        '-n ecommerce get job ecommerce-migrate -o jsonpath={range .status.conditions[?(@.status=="True")]}'
        '{.type}{" "}{end}',
        "apply -f <rendered> -l app.kubernetes.io/component in (api)",
        "-n ecommerce rollout status deployment/ecommerce-api --timeout=600s",
        "-n ecommerce get hpa ecommerce-api -o jsonpath={.spec.minReplicas}",
        "-n ecommerce get deployment ecommerce-api -o jsonpath={.status.readyReplicas}",
        "-n ecommerce rollout status deployment/events-relay --timeout=600s",
        # The repair CronJobs only once the migrations ran.
        "apply -f <rendered> -l app.kubernetes.io/component in (maintenance)",
        "apply -f <rendered>",
        "-n ecommerce get service ecommerce-api -o jsonpath={.status.loadBalancer.ingress[0].hostname}"
        "{.status.loadBalancer.ingress[0].ip}",
    ]
    assert "http://203.0.113.10" in result.stdout


def test_deploy_swaps_in_the_requested_api_image_only(cluster):
    tmp_path, env = cluster
    result = deploy({**env, "IMAGE": "ghcr.io/acme/shop-api:2.3.4"})
    assert result.returncode == 0, result.stderr
    applied = (tmp_path / "applied.yaml").read_text()
    assert applied.count("image: ghcr.io/acme/shop-api:2.3.4") == 3
    assert "image: postgres:16.10-bookworm" in applied and "image: redis:7.4.9-alpine" in applied
    assert "ecommerce-api:1.0.0" not in applied


@pytest.mark.parametrize("image", ["ghcr.io/acme/shop-api", "ghcr.io/acme/shop-api:latest"])
def test_deploy_refuses_an_unpinned_image(cluster, image):
    _, env = cluster
    result = deploy({**env, "IMAGE": image})
    assert result.returncode != 0 and "IMAGE must" in result.stderr


def test_deploy_refuses_to_run_without_filled_in_secrets(cluster):
    tmp_path, env = cluster
    (tmp_path / "k8s" / "secrets.env").write_text((files.K8S / "secrets.env.example").read_text())
    result = deploy(env)
    assert result.returncode != 0 and "secrets.env" in result.stderr
    assert not (tmp_path / "calls.log").exists() or "apply" not in (tmp_path / "calls.log").read_text()


def test_generated_secrets_fill_the_template_consistently(tmp_path):
    target = tmp_path / "secrets.env"
    assert generate_secrets(target).returncode == 0
    secrets = files.parse_env_file(target)
    assert set(secrets) == set(files.secret_template())
    # Stripe stays off until its account's keys are filled in; everything else is random.
    stripe = {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}
    assert {key for key, value in secrets.items() if not value} == stripe
    assert len(secrets["SECRET_KEY"]) >= 50
    # A Fernet key: 32 random bytes, URL-safe base64.
    assert len(base64.urlsafe_b64decode(secrets["WEBHOOK_SECRETS_KEY"])) == 32
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    # Each URL carries the password its database is initialised with.
    assert urlparse(secrets["DATABASE_URL"]).password == secrets["POSTGRES_PASSWORD"]
    assert urlparse(secrets["MYSQL_URL"]).password == secrets["MYSQL_PASSWORD"]
    assert urlparse(secrets["MONGO_URL"]).password == secrets["MONGO_APP_PASSWORD"]
    # Never overwritten: the databases keep the passwords they started with.
    assert generate_secrets(target).returncode != 0
    assert files.parse_env_file(target) == secrets
