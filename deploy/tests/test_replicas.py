"""Three API replicas on the same stores, configured as the production ConfigMap says: what
one replica issues, any other honours, behind the load balancer's headers."""

import os
import subprocess

import pytest
import requests

from deploy.tests import files
from ecommerce.testing import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

# Set per server by LiveServer, or kept quiet for the test run.
_LIVE_SERVER_OWN = {"PORT", "HOST_BIND", "WEB_CONCURRENCY", "LOG_LEVEL", "ACCESS_LOG"}
PUBLIC_HOST = files.config_env()["ALLOWED_HOSTS"].split(",")[0]
# What the load balancer adds in front of every request that reached it over HTTPS.
BEHIND_LOAD_BALANCER = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}


@pytest.fixture(scope="module")
def replicas(live_server_factory):
    production = {key: value for key, value in files.config_env().items() if key not in _LIVE_SERVER_OWN}
    # LiveServer knows a server is up when GET 127.0.0.1:port/health/live answers 200.
    production["ALLOWED_HOSTS"] += ",127.0.0.1"
    return [live_server_factory(workers=1, extra_env=production) for _ in range(3)]


def test_a_token_issued_by_one_replica_is_honoured_by_the_others(replicas):
    user = make_user("replica@example.com", first_name="Rita", last_name="Replica")
    first, *others = replicas

    login = requests.post(
        f"{first.url}/api/auth/token",
        json={"email": user.email, "password": TEST_PASSWORD},
        headers=BEHIND_LOAD_BALANCER,
        timeout=10,
    )
    assert login.status_code == 200, login.text
    bearer = {**BEHIND_LOAD_BALANCER, "Authorization": f"Bearer {login.json()['access']}"}

    for replica in others:
        me = requests.get(f"{replica.url}/api/users/me", headers=bearer, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user.id and me.json()["email"] == "replica@example.com"


def test_replicas_run_the_production_security_settings(replicas):
    replica = replicas[0]
    # Plain HTTP to the API is sent to HTTPS; a host outside ALLOWED_HOSTS is refused.
    plain = requests.get(
        f"{replica.url}/api/users/me", headers={"Host": PUBLIC_HOST}, allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301 and plain.headers["Location"].startswith(f"https://{PUBLIC_HOST}/")
    assert requests.get(f"{replica.url}/api/schema", headers={"Host": "evil.example"}, timeout=10).status_code == 400
    secure = requests.get(f"{replica.url}/health/live", headers=BEHIND_LOAD_BALANCER, timeout=10)
    assert "max-age=31536000; includeSubDomains; preload" == secure.headers["Strict-Transport-Security"]


@pytest.mark.parametrize("path", ["/health/live", "/health"])
def test_kubelet_probes_pass_over_plain_http(replicas, path):
    """The probes of deploy/k8s/api.yaml: plain HTTP, the pod's port, the public Host header."""
    response = requests.get(f"{replicas[1].url}{path}", headers={"Host": PUBLIC_HOST}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


def test_image_healthcheck_passes_against_a_replica(replicas):
    replica = replicas[2]
    env = {**os.environ, "PORT": str(replica.port), "ALLOWED_HOSTS": files.config_env()["ALLOWED_HOSTS"]}
    command = files.dockerfile_healthcheck_command()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
