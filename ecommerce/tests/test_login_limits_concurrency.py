"""Login limits under parallel guesses: every worker of a server counts in the shared Redis,
and each attempt takes its slot atomically before the password is checked, so a burst of
parallel wrong passwords from one address gets exactly the limit's worth through."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from ecommerce.testing.helpers import TEST_PASSWORD, make_user, throttle_window_with_time_left
from users.throttles import LoginFailuresPerAccountAddress, LoginFailuresPerAddress

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

REDIS_DB = 2  # this suite's own Redis database


@pytest.fixture
def server(live_server_factory):
    direct = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    direct.flushdb()
    # Behind one proxy (as in production): the client address is X-Forwarded-For's last entry.
    env = {"REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}", "THROTTLE_ENABLED": "1", "NUM_PROXIES": "1"}
    yield live_server_factory(workers=3, extra_env=env)
    direct.flushdb()


def _login(url: str, body: dict, address: str) -> int:
    return requests.post(url, json=body, headers={"X-Forwarded-For": address}, timeout=60).status_code


def _burst(url: str, bodies: list[dict], address: str) -> list[int]:
    throttle_window_with_time_left(20)  # the failures are counted in fixed windows of a minute
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda body: _login(url, body, address), bodies))


def test_parallel_guesses_from_one_address_get_exactly_the_limit_through(server):
    limit = LoginFailuresPerAddress().num_requests
    bodies = [{"email": f"guess{n}@example.com", "password": "wrong-Passw0rd"} for n in range(2 * limit)]

    answers = _burst(f"{server.url}/api/auth/token", bodies, "203.0.113.1")

    assert sorted(answers) == [401] * limit + [429] * limit


def test_parallel_guesses_at_one_account_leave_its_owner_their_own_address(server):
    owner = make_user("owner@example.com")
    limit = LoginFailuresPerAccountAddress().num_requests
    url = f"{server.url}/api/auth/token"
    guesses = [{"email": owner.email, "password": "wrong-Passw0rd"}] * (3 * limit)

    answers = _burst(url, guesses, "203.0.113.66")

    assert sorted(answers) == [401] * limit + [429] * (2 * limit)
    assert _login(url, {"email": owner.email, "password": TEST_PASSWORD}, "203.0.113.66") == 429
    assert _login(url, {"email": owner.email, "password": TEST_PASSWORD}, "198.51.100.7") == 200
