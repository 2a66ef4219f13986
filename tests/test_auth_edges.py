"""Login edges (issue 10): /api/health stays open for load balancers when login is on, everything else
still wants credentials, and repeated failed logins are throttled (REST and the UI's login form alike).

A real `assistant serve` subprocess with ASSISTANT_AUTH and a short back-off (ASSISTANT_LOGIN_BACKOFF_S),
spoken to over real HTTP; LoginThrottle's bookkeeping is also tested directly with a fake clock.
"""
from __future__ import annotations

import base64
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_app import get_json, post_json, running_server  # noqa: E402

from assistant.web.rest import PUBLIC_HEALTH_KEYS, LoginThrottle  # noqa: E402

BACKOFF_S = 0.5  # the test server's first back-off; it doubles to a cap of 1 s
USERS = {"alice": "s3cret", "bob": "hunter2", "carol": "pw:3"}


@pytest.fixture(scope="module")
def url(server_data, tmp_path_factory):
    auth = ",".join(f"{u}:{p}" for u, p in USERS.items())
    with running_server(server_data, tmp_path_factory.mktemp("log") / "auth-server.log", ASSISTANT_AUTH=auth,
                        ASSISTANT_LOGIN_MAX_FAILURES="5", ASSISTANT_LOGIN_BACKOFF_S=str(BACKOFF_S),
                        ASSISTANT_LOGIN_BACKOFF_MAX_S=str(2 * BACKOFF_S)) as u:
        yield u


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def rest_login(url: str, user: str, password: str) -> tuple[int, Any]:
    """GET /api/ask with Basic credentials: 405 once the login passes (it wants POST), else 401 / 429."""
    return _status(urllib.request.Request(url + "/api/ask", headers=basic(user, password)))


def ui_login(url: str, user: str, password: str) -> tuple[int, Any]:
    """POST the UI's login form (what the browser and gradio_client do): 200 and a cookie when it passes."""
    data = urllib.parse.urlencode({"username": user, "password": password}).encode()
    return _status(urllib.request.Request(url + "/login", data=data, method="POST",
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}))


def _status(req: urllib.request.Request) -> tuple[int, Any]:
    """(HTTP status, headers) of a request, error statuses included."""
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        e.read()
        return e.code, e.headers


# ----------------------------------------------------------------------------------------- server
@pytest.mark.integration
def test_health_open_without_login_and_reveals_only_basics(url):
    status, d = get_json(url + "/api/health")
    assert status == 200 and d["status"] == "ok"
    assert set(d) <= set(PUBLIC_HEALTH_KEYS) | {"document_count"}
    assert d["passages"] > 0 and d["document_count"] > 0 and d["corpus_version"]
    # no document titles, embedder or set-up details for an anonymous caller
    assert "documents" not in d and "embedder" not in d and "chunking" not in d
    # credentials, right or wrong, change nothing and are not checked (health is no password oracle)
    for _ in range(7):
        assert get_json(url + "/api/health", headers=basic("alice", "wrong"))[0] == 200
    assert rest_login(url, "alice", USERS["alice"])[0] == 405  # not throttled by the above


@pytest.mark.integration
def test_other_routes_still_need_login(url):
    assert post_json(url + "/api/ask", {"turns": ["PRP注射前需要停用NSAIDs多久?"]})[0] == 401
    assert get_json(url + "/api/ask")[0] == 401
    assert get_json(url + "/config")[0] == 401  # the UI's config wants the login cookie
    assert rest_login(url, "alice", "wrong")[0] == 401
    assert rest_login(url, "alice", USERS["alice"])[0] == 405  # (and clears the failure above)
    status, d = post_json(url + "/api/ask", {"turns": ["PRP注射前需要停用NSAIDs多久?"]},
                          headers=basic("alice", USERS["alice"]))
    assert status == 200 and d["text"]


@pytest.mark.integration
def test_rest_failed_logins_back_off_then_recover(url):
    for _ in range(5):
        assert rest_login(url, "alice", "wrong")[0] == 401
    status, headers = rest_login(url, "alice", USERS["alice"])  # right password, inside the window
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert rest_login(url, "alice", "wrong")[0] == 429  # refused unchecked: not counted either
    time.sleep(BACKOFF_S + 0.15)
    assert rest_login(url, "alice", USERS["alice"])[0] == 405  # after the window: in


@pytest.mark.integration
def test_rest_success_resets_and_back_off_grows(url):
    for _ in range(4):
        assert rest_login(url, "bob", "wrong")[0] == 401
    assert rest_login(url, "bob", USERS["bob"])[0] == 405  # a success clears the count...
    for _ in range(4):
        assert rest_login(url, "bob", "wrong")[0] == 401  # ...so four more are still checked
    assert rest_login(url, "bob", "wrong")[0] == 401  # the fifth in a row starts the back-off
    assert rest_login(url, "bob", USERS["bob"])[0] == 429
    time.sleep(BACKOFF_S + 0.15)
    assert rest_login(url, "bob", "wrong")[0] == 401  # the sixth doubles the window (to 1 s)
    time.sleep(BACKOFF_S + 0.15)
    assert rest_login(url, "bob", USERS["bob"])[0] == 429  # still inside the doubled window
    time.sleep(BACKOFF_S + 0.15)
    assert rest_login(url, "bob", USERS["bob"])[0] == 405


@pytest.mark.integration
def test_ui_login_is_throttled_too_and_shares_the_count_with_rest(url):
    for _ in range(5):
        assert ui_login(url, "carol", "wrong")[0] in (400, 401)
    assert ui_login(url, "carol", USERS["carol"])[0] == 429  # the UI refuses, password unchecked
    assert rest_login(url, "carol", USERS["carol"])[0] == 429  # the same count on REST
    time.sleep(BACKOFF_S + 0.15)
    status, headers = ui_login(url, "carol", USERS["carol"])
    assert status == 200 and "access-token" in (headers.get("set-cookie") or "")

    from gradio_client import Client

    Client(url + "/", auth=("carol", USERS["carol"]), verbose=False)  # logs in: no error


# ----------------------------------------------------------------------------------------- units
class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_throttle_counts_per_address_and_per_user():
    clock = Clock()
    th = LoginThrottle(3, 1.0, 60.0, users=["alice", "bob"], clock=clock)
    for i in range(3):  # one user from three addresses: the user name is backed off everywhere
        assert th.retry_after(f"10.0.0.{i}", "alice") == 0
        th.failed(f"10.0.0.{i}", "alice")
    assert th.retry_after("10.0.0.9", "alice") == pytest.approx(1.0)
    assert th.retry_after("10.0.0.9", "bob") == 0  # another user from a clean address is not
    for user in ("bob", "x1", "x2"):  # one address trying several (or unknown) user names
        th.failed("10.0.1.1", user)
    assert th.retry_after("10.0.1.1", "bob") == pytest.approx(1.0)
    assert th.retry_after("10.0.1.1", "someone") == pytest.approx(1.0)
    th.succeeded("10.0.0.9", "alice")  # a success clears that user (and that address)
    assert th.retry_after("10.0.0.5", "alice") == 0


def test_throttle_back_off_doubles_to_a_cap_and_success_resets():
    clock = Clock()
    th = LoginThrottle(5, 1.0, 60.0, users=["alice"], clock=clock)
    waits = []
    for _ in range(13):
        th.failed("a", "alice")
        waits.append(round(th.retry_after("a", "alice"), 6))
        clock.t += waits[-1]  # each next attempt comes right when allowed
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    th.succeeded("a", "alice")
    assert th.retry_after("a", "alice") == 0 and len(th) == 0
    for _ in range(4):
        th.failed("a", "alice")
    assert th.retry_after("a", "alice") == 0  # counting starts again from zero


def test_throttle_forgets_old_failures_and_stays_bounded():
    clock = Clock()
    th = LoginThrottle(2, 1.0, 60.0, users=["u"], max_tracked=100, forget_after_s=600, clock=clock)
    th.failed("a", "u")
    clock.t += 601
    th.failed("a", "u")  # the first failure was long ago: this is the first of a new run
    assert th.retry_after("a", "u") == 0
    for i in range(5000):  # many addresses and made-up user names: memory stays bounded
        th.failed(f"addr-{i}", f"nobody-{i}")
    assert len(th) <= 100
    assert th.retry_after("addr-4999", "u") == 0  # one failure from it so far


def test_throttle_is_thread_safe():
    import threading

    th = LoginThrottle(1000, 1.0, 60.0, users=["u"])
    threads = [threading.Thread(target=lambda: [th.failed("a", "u") for _ in range(200)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert th._table[("addr", "a")][0] == 1600 and th._table[("user", "u")][0] == 1600
