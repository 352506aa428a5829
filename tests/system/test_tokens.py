"""Personal API tokens on the real stack: shown once, stored hashed, revocable, and good for
the API and the live channel without a cookie or a CSRF token."""

from __future__ import annotations

import hashlib
import json

import pytest
import redis
import requests
import socketio

from tests.accounts import signed_in
from tests.accounts import start_accounts_stack
from tests.parts import User
from tests.parts import wait_for


def make_token(user: User, **body) -> dict:
    """Create a token from the user's session and return the answer."""
    response = user.http.post(user.url + "/api/tokens", json=body or None)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict:
    """Return the header that authenticates with a token."""
    return {"Authorization": f"Bearer {token}"}


def test_token_is_shown_once_and_stored_only_as_a_hash(stack, user):
    """The answer carries the token; the listing and Redis never do."""
    made = make_token(user, name="laptop")
    assert set(made) == {"id", "token", "name", "created_at"} and made["name"] == "laptop"
    listed = user.http.get(stack.url + "/api/tokens").json()["tokens"]
    assert listed == [
        {"id": made["id"], "name": "laptop", "created_at": made["created_at"], "last_used_at": None}
    ]
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    dump = {key: r.hgetall(key) for key in r.scan_iter("taskboard:token*")}
    assert made["token"] not in str(dump)
    assert f"taskboard:token:{hashlib.sha256(made['token'].encode()).hexdigest()}" in dump


def test_token_works_without_cookie_or_csrf_and_sets_no_cookie(stack, user):
    """An upload with only the bearer header is the user's job; no cookie comes back."""
    token = make_token(user)["token"]
    response = requests.post(
        stack.url + "/api/jobs",
        headers=bearer(token),
        files={"file": ("a.txt", b"hello\n")},
        data={"processor": "checksum"},
    )
    assert response.status_code == 202, response.text
    assert "Set-Cookie" not in response.headers
    assert user.job(response.json()["id"])["id"] == response.json()["id"]
    session = requests.get(stack.url + "/api/session", headers=bearer(token))
    assert session.json()["user"] == user.id and "Set-Cookie" not in session.headers
    listed = user.http.get(stack.url + "/api/tokens").json()["tokens"]
    assert listed[0]["last_used_at"] is not None


@pytest.mark.parametrize(
    "token", ["tb_" + "x" * 43, "not-a-token", "", "tb_" + "y" * 500], ids=str.__len__
)
def test_wrong_token_is_refused_with_401(stack, token):
    """A token that is not one of ours: 401 JSON, for reads and writes alike."""
    for method in ("GET", "POST"):
        response = requests.request(method, stack.url + "/api/jobs", headers=bearer(token))
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "bad_token"


def test_revoked_token_stops_working_at_once(stack, user):
    """After DELETE the token is refused; a second DELETE finds nothing."""
    made = make_token(user)
    assert requests.get(stack.url + "/api/jobs", headers=bearer(made["token"])).status_code == 200
    assert user.http.delete(f"{stack.url}/api/tokens/{made['id']}").status_code == 204
    refused = requests.get(stack.url + "/api/jobs", headers=bearer(made["token"]))
    assert refused.status_code == 401
    again = user.http.delete(f"{stack.url}/api/tokens/{made['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_tokens_belong_to_their_user(stack, user, other_user):
    """Another user neither lists nor revokes someone's token."""
    made = make_token(user)
    assert other_user.http.get(stack.url + "/api/tokens").json() == {"tokens": []}
    assert other_user.http.delete(f"{stack.url}/api/tokens/{made['id']}").status_code == 404
    assert requests.get(stack.url + "/api/jobs", headers=bearer(made["token"])).ok


def test_token_cannot_create_or_manage_tokens(stack, user):
    """Token management needs the signed-in session: a token gets 403."""
    token = make_token(user)["token"]
    for method, path in (("POST", "/api/tokens"), ("GET", "/api/tokens")):
        response = requests.request(method, stack.url + path, headers=bearer(token))
        assert response.status_code == 403 and response.json()["error"]["code"] == (
            "token_not_allowed"
        )


def test_token_in_a_cookie_is_no_session(stack, user):
    """The token sent as the session cookie is not the user: a fresh anonymous identity."""
    token = make_token(user)["token"]
    answer = requests.get(stack.url + "/api/session", cookies={"session": token}).json()
    assert answer["user"] != user.id


def test_cookie_with_a_wrong_token_is_refused_not_passed_on(stack, user):
    """A wrong bearer token is refused even beside a good cookie and CSRF token."""
    response = user.http.post(
        stack.url + "/api/jobs",
        headers=bearer("tb_wrong"),
        files={"file": ("a.txt", b"x\n")},
        data={"processor": "checksum"},
    )
    assert response.status_code == 401


def test_bad_token_body_is_refused(stack, user):
    """A name that is not a short string, or other fields: 400, no token made."""
    for body in (
        {"name": ""},
        {"name": "\r"},
        {"name": " \x1c "},
        {"name": "x" * 65},
        {"name": 3},
        {"other": 1},
        [1],
    ):
        response = user.http.post(stack.url + "/api/tokens", json=body)
        assert response.status_code == 400, body
    assert user.http.get(stack.url + "/api/tokens").json() == {"tokens": []}


@pytest.mark.parametrize("how", ["auth", "header"])
def test_token_opens_the_live_channel(stack, user, how):
    """A Socket.IO client with a token (auth or header) gets the user's job events."""
    token = make_token(user)["token"]
    client = socketio.Client()
    events = []
    client.on("job", events.append)
    if how == "auth":
        client.connect(stack.url, auth={"token": token}, transports=["websocket"])
    else:
        client.connect(stack.url, headers=bearer(token), transports=["websocket"])
    try:
        job_id = user.submit("checksum")
        wait_for(lambda: any(e.get("state") == "SUCCESS" for e in events if e["id"] == job_id))
        assert client.call("subscribe", {"job_id": job_id})["state"] == "SUCCESS"
    finally:
        client.disconnect()


def test_wrong_token_cannot_open_the_live_channel(stack):
    """A wrong token is refused at connection."""
    client = socketio.Client()
    refusals = []
    client.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.url, auth={"token": "tb_" + "z" * 43}, transports=["websocket"])
    assert "bad_token" in str(refusals)


@pytest.fixture(scope="module")
def accounts_stack(redis_server, tmp_path_factory):
    """Start a stack in accounts mode with two users and a tight upload limit."""
    running = start_accounts_stack(
        redis_server,
        tmp_path_factory.mktemp("token-accounts"),
        {"ann": {}, "ben": {}},
        UPLOAD_RATE_LIMIT="3/minute",
    )
    yield running
    running.stop()


def test_accounts_mode_token_acts_as_its_account_and_shares_its_limits(accounts_stack):
    """Signed out: no token. Signed in: the token is the account, and its uploads count
    against the account's rate limit, cookie or token."""
    stranger = User(accounts_stack.url)
    assert stranger.http.post(accounts_stack.url + "/api/tokens").status_code == 401
    ann = signed_in(accounts_stack, "ann")
    token = make_token(ann)["token"]
    session = requests.get(accounts_stack.url + "/api/session", headers=bearer(token)).json()
    assert session["user"] == "ann"

    def send(**kwargs) -> int:
        return requests.post(
            accounts_stack.url + "/api/jobs",
            files={"file": ("a.txt", b"a\n")},
            data={"processor": "checksum"},
            **kwargs,
        ).status_code

    assert [send(headers=bearer(token)) for _ in range(3)] == [202, 202, 202]
    assert ann.upload("checksum").status_code == 429


def test_accounts_mode_token_of_a_removed_user_stops_working(accounts_stack):
    """A token outlives nothing: its user gone from the users file (after a restart), 401."""
    ben = signed_in(accounts_stack, "ben")
    token = make_token(ben)["token"]
    assert requests.get(accounts_stack.url + "/api/jobs", headers=bearer(token)).ok
    kept = accounts_stack.users_file.read_text()
    users = json.loads(kept)
    del users["ben"]
    accounts_stack.users_file.write_text(json.dumps(users))
    try:
        accounts_stack.restart_web()
        refused = requests.get(accounts_stack.url + "/api/jobs", headers=bearer(token))
        assert refused.status_code == 401
    finally:
        accounts_stack.users_file.write_text(kept)
        accounts_stack.restart_web()


def test_revoking_a_token_closes_its_live_connections(stack, user):
    """A connection opened with a token is closed when the token is revoked; a cookie's
    connection of the same user stays."""
    made = make_token(user)
    client = socketio.Client(reconnection=False)
    client.connect(stack.url, auth={"token": made["token"]}, transports=["websocket"])
    assert client.connected
    assert user.http.delete(f"{stack.url}/api/tokens/{made['id']}").status_code == 204
    wait_for(lambda: not client.connected, timeout=5)
    assert user.sio.connected


def test_revoking_closes_a_connection_held_by_another_web_process(stack, second_web, user):
    """The revoke reaches the web process that holds the connection (its message queue)."""
    made = make_token(user)
    client = socketio.Client(reconnection=False)
    client.connect(second_web.url, auth={"token": made["token"]}, transports=["websocket"])
    assert user.http.delete(f"{stack.url}/api/tokens/{made['id']}").status_code == 204
    wait_for(lambda: not client.connected, timeout=5)
