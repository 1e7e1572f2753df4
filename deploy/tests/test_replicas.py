"""Three API replicas on the same stores and one Redis, configured as the production ConfigMap
says: what one replica issues, any other honours, behind the load balancer's headers; rate
limits and the catalog read cache are shared."""

import os
import shutil
import subprocess
import time

import pytest
import redis
import requests
from bson import ObjectId
from django.conf import settings

from deploy.tests import files
from ecommerce.stores import mongo
from ecommerce.testing.helpers import TEST_PASSWORD, make_user, throttle_window_with_time_left
from ecommerce.tooling.embedded import free_port

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

# Set per server by LiveServer, or kept quiet for the test run.
_LIVE_SERVER_OWN = {"PORT", "HOST_BIND", "WEB_CONCURRENCY", "LOG_LEVEL", "ACCESS_LOG"}
PUBLIC_HOST = files.config_env()["ALLOWED_HOSTS"].split(",")[0]
# What the load balancer adds in front of every request that reached it over HTTPS.
BEHIND_LOAD_BALANCER = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """redis-server with the flags of deploy/k8s/redis.yaml, on a free port of localhost."""
    server = shutil.which("redis-server")
    if not server:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    (container,) = files.pod_spec(files.find("Deployment", "redis"))["containers"]
    port = free_port()
    args = [*container["args"], "--port", str(port), "--bind", "127.0.0.1"]
    process = subprocess.Popen(
        [server, *args], cwd=tmp_path_factory.mktemp("redis"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server {args} did not start: {process.communicate()[1].decode()}")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def replicas(live_server_factory, redis_url):
    production = {key: value for key, value in files.config_env().items() if key not in _LIVE_SERVER_OWN}
    # LiveServer knows a server is up when GET 127.0.0.1:port/health/live answers 200.
    production["ALLOWED_HOSTS"] += ",127.0.0.1"
    # The ConfigMap's redis://redis:6379/0, here on localhost.
    production["REDIS_URL"] = redis_url
    return [live_server_factory(workers=1, extra_env=production) for _ in range(3)]


def login(replica, email: str, password: str, client_ip: str) -> requests.Response:
    headers = {**BEHIND_LOAD_BALANCER, "X-Forwarded-For": client_ip}
    return requests.post(
        f"{replica.url}/api/auth/token", json={"email": email, "password": password}, headers=headers, timeout=10
    )


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


def test_login_rate_limit_counts_across_replicas(replicas):
    """One limit for the whole deployment, not one per replica: the counters are in Redis."""
    user = make_user("throttled@example.com")
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login_account"].split("/")[0])
    assert limit >= len(replicas)
    throttle_window_with_time_left(15)
    for attempt in range(limit):
        response = login(replicas[attempt % len(replicas)], user.email, "wrong password", "198.51.100.21")
        assert response.status_code == 401, response.text
    # Each replica saw only a third of the attempts; each one refuses the next.
    for replica in replicas:
        response = login(replica, user.email, TEST_PASSWORD, "198.51.100.21")
        assert response.status_code == 429, response.text


def test_catalog_reads_are_cached_once_for_all_replicas_and_writes_reach_them_all(replicas, redis_url):
    staff = make_user("catalog-staff@example.com", staff=True)
    token = login(replicas[0], staff.email, TEST_PASSWORD, "198.51.100.22").json()["access"]
    as_staff = {**BEHIND_LOAD_BALANCER, "Authorization": f"Bearer {token}"}
    created = requests.post(
        f"{replicas[0].url}/api/products", json={"name": "Teapot", "price": "25.00"}, headers=as_staff, timeout=10
    )
    assert created.status_code == 201, created.text
    path = f"/api/products/{created.json()['id']}"

    def public_name(replica) -> str:
        response = requests.get(f"{replica.url}{path}", headers=BEHIND_LOAD_BALANCER, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["name"]

    # Replica 1 reads and caches; a change behind the API's back is not seen by replica 2,
    # which answers from the shared cache.
    assert public_name(replicas[1]) == "Teapot"
    assert redis.Redis.from_url(redis_url).keys("*catalog*")
    mongo.get_db()["products"].update_one({"_id": ObjectId(created.json()["id"])}, {"$set": {"name": "Kettle"}})
    assert public_name(replicas[2]) == "Teapot"

    # A write through replica 2 makes every replica's next read fresh.
    updated = requests.put(f"{replicas[2].url}{path}", json={"name": "Samovar"}, headers=as_staff, timeout=10)
    assert updated.status_code == 200, updated.text
    assert [public_name(replica) for replica in replicas] == ["Samovar"] * 3
