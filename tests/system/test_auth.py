"""Accounts mode: users from configuration, sign-in, isolation, and the per-user limits."""

from __future__ import annotations

import itertools
import json

import pytest
import requests
import socketio

from tests.accounts import PASSWORD
from tests.accounts import signed_in
from tests.accounts import start_accounts_stack
from tests.parts import User
from tests.parts import wait_for
from webapp import auth

LONG = {"steps": 400, "interval_ms": 50}
# Each test that signs in wrongly comes from an address of its own, for the sign-in limit.
ADDRESSES = (f"10.1.0.{n}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def accounts_stack(redis_server, tmp_path_factory):
    """Start a stack in accounts mode behind one (pretend) proxy, with tight limits."""
    users = {"alice": {"admin": True}, "bob": {}, "carol": {}, "dave": {}}
    running = start_accounts_stack(
        redis_server,
        tmp_path_factory.mktemp("accounts"),
        users,
        PROXY_COUNT="1",
        LOGIN_RATE_LIMIT="5/minute",
        UPLOAD_RATE_LIMIT="4/minute",
        MAX_ACTIVE_JOBS="2",
    )
    yield running
    running.stop()


def test_users_file_keeps_only_password_hashes(tmp_path):
    """``add_user`` stores a werkzeug hash that checks, never the password."""
    path = tmp_path / "users.json"
    auth.add_user(path, "erin", PASSWORD, admin=True)
    stored = json.loads(path.read_text())["erin"]
    assert PASSWORD not in path.read_text() and stored["admin"] is True
    assert auth.load_accounts(path)["erin"].password_hash == stored["password"]
    assert oct(path.stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize(
    "content",
    ['["alice"]', '{"alice": "plain"}', '{"alice": {"password": "plain"}}', '{"a b": {}}'],
)
def test_malformed_users_file_is_refused(tmp_path, content):
    """A users file that is not what ``python -m webapp.auth`` writes stops the server."""
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(ValueError):
        auth.load_accounts(path)


def test_nothing_but_the_session_answers_before_signing_in(accounts_stack):
    """Before signing in the API answers 401 and the pages lead to the sign-in form."""
    stranger = User(accounts_stack.url)
    info = stranger.http.get(accounts_stack.url + "/api/session").json()
    assert info["user"] is None and info["mode"] == "accounts" and info["csrf_token"]
    for method, path in [("get", "/api/jobs"), ("post", "/api/jobs")]:
        response = getattr(stranger.http, method)(accounts_stack.url + path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "login_required"
    page = stranger.http.get(accounts_stack.url + "/", allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    form = stranger.http.get(accounts_stack.url + "/login?next=//evil.example/x")
    assert 'data-next-url="/"' in form.text


def test_socket_without_sign_in_is_refused(accounts_stack):
    """A Socket.IO connection from a browser that has not signed in is refused."""
    stranger = User(accounts_stack.url)
    cookie = "; ".join(f"{k}={v}" for k, v in stranger.http.cookies.items())
    client = socketio.Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(accounts_stack.url, headers={"Cookie": cookie}, transports=["websocket"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "alice", "password": "wrong"}, 401, "bad_credentials"),
        ({"username": "mallory", "password": PASSWORD}, 401, "bad_credentials"),
        ({"username": "alice"}, 400, "bad_request"),
        ({"username": ["alice"], "password": PASSWORD}, 400, "bad_request"),
        ("not an object", 400, "bad_request"),
    ],
)
def test_bad_sign_in_is_refused(accounts_stack, body, status, code):
    """Wrong names, wrong passwords and malformed bodies sign no one in."""
    user = User(accounts_stack.url)
    response = user.http.post(
        accounts_stack.url + "/api/login",
        json=body,
        headers={"X-Forwarded-For": next(ADDRESSES)},
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert user.http.get(accounts_stack.url + "/api/session").json()["user"] is None


def test_sign_in_needs_a_csrf_token(accounts_stack):
    """Signing in is a write like any other: without the CSRF header it is refused."""
    response = requests.post(
        accounts_stack.url + "/api/login", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "csrf_failed"


def test_signed_in_users_see_only_their_own_jobs(accounts_stack):
    """Alice's job is hers: Bob gets 404, and both get their own lists."""
    alice, bob = signed_in(accounts_stack, "alice"), signed_in(accounts_stack, "bob")
    alice.connect()
    try:
        job_id = alice.submit("checksum")
        assert alice.wait_pushed(job_id, {"SUCCESS"})
        assert bob.http.get(f"{accounts_stack.url}/api/jobs/{job_id}").status_code == 404
        assert [j["id"] for j in alice.http.get(accounts_stack.url + "/api/jobs").json()["jobs"]]
        assert bob.http.get(accounts_stack.url + "/api/jobs").json()["jobs"] == []
        info = alice.http.get(accounts_stack.url + "/api/session").json()
        assert info["user"] == "alice" and info["admin"] is True
        assert bob.http.get(accounts_stack.url + "/api/session").json()["admin"] is False
    finally:
        alice.close()


def test_sign_out_ends_the_session(accounts_stack):
    """After signing out the same cookie jar is a stranger again."""
    dave = signed_in(accounts_stack, "dave")
    assert dave.http.post(accounts_stack.url + "/api/logout").status_code == 204
    assert dave.http.get(accounts_stack.url + "/api/jobs").status_code == 401


def test_repeated_failed_sign_ins_are_slowed_down(accounts_stack):
    """More sign-in attempts from one address than the limit allows answer 429."""
    user = User(accounts_stack.url)
    address = {"X-Forwarded-For": "10.2.0.9"}
    statuses = [
        user.http.post(
            accounts_stack.url + "/api/login",
            json={"username": "alice", "password": "guess"},
            headers=address,
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    other = user.http.post(
        accounts_stack.url + "/api/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": "10.2.0.10"},
    )
    assert other.status_code == 200


def test_uploads_past_the_rate_limit_answer_429(accounts_stack):
    """A user sending more uploads a minute than allowed gets 429 and no job."""
    carol = signed_in(accounts_stack, "carol")
    carol.connect()
    try:
        statuses = []
        for _ in range(5):
            response = carol.upload("simulate", options={"steps": 1, "interval_ms": 0})
            statuses.append(response.status_code)
            if response.status_code == 202:
                carol.wait_pushed(response.json()["id"], {"SUCCESS"})
        assert statuses == [202] * 4 + [429]
        assert response.json()["error"]["code"] == "rate_limited"
        assert len(carol.http.get(accounts_stack.url + "/api/jobs").json()["jobs"]) == 4
    finally:
        carol.close()


def test_running_jobs_per_user_are_capped(accounts_stack):
    """A third job while two run answers 429; once one ends, the next is taken."""
    bob = signed_in(accounts_stack, "bob")
    bob.connect()
    try:
        first = bob.submit("simulate", options=LONG)
        second = bob.submit("simulate", options=LONG)
        refused = bob.upload("simulate", options=LONG)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_jobs"
        bob.http.post(f"{accounts_stack.url}/api/jobs/{first}/cancel")
        bob.wait_pushed(first, {"REVOKED"})
        third = bob.submit("simulate", options={"steps": 1, "interval_ms": 0})
        for job_id in (second, third):
            bob.http.post(f"{accounts_stack.url}/api/jobs/{job_id}/cancel")
        wait_for(lambda: bob.job(second)["state"] == "REVOKED")
    finally:
        bob.close()


def test_anonymous_mode_has_no_sign_in(stack):
    """Without accounts, /api/login is not there and /login is a 404 page."""
    user = User(stack.url)
    assert user.http.post(stack.url + "/api/login", json={}).status_code == 404
    assert user.http.get(stack.url + "/login").status_code == 404
    assert user.http.get(stack.url + "/api/session").json()["mode"] == "anonymous"
