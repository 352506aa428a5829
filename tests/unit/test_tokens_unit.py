"""Token storage on a real Redis: hashed, looked up by digest, last use written at most once a
minute, and a revoke never undone by a late write of last use."""

from __future__ import annotations

import pytest
import redis

from tasks import jobstore
from webapp import tokens


@pytest.fixture
def r(redis_server) -> redis.Redis:
    """Return a client of the tests' Redis."""
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


def test_last_use_is_written_at_most_once_a_minute(r):
    """Two uses in a row write once; a use a minute after the last writes again."""
    made = tokens.create(r, "unit-user", "t")
    key = jobstore.TOKEN_KEY.format(tokens.digest(made["token"]))
    first = tokens.resolve(r, made["token"])
    assert first["user"] == "unit-user" and first["last_used_at"] == ""
    stamped = r.hget(key, "last_used_at")
    assert stamped
    tokens.resolve(r, made["token"])
    assert r.hget(key, "last_used_at") == stamped
    r.hset(key, "last_used_at", jobstore.now_iso(jobstore.timestamp(stamped) - 61))
    tokens.resolve(r, made["token"])
    assert r.hget(key, "last_used_at") != stamped and r.hget(key, "last_used_at") > stamped
    assert tokens.revoke(r, "unit-user", made["id"])


def test_a_late_write_of_last_use_does_not_bring_a_revoked_token_back(r):
    """The touch script writes only while the token exists."""
    made = tokens.create(r, "unit-user-2", "t")
    key = jobstore.TOKEN_KEY.format(tokens.digest(made["token"]))
    assert tokens.revoke(r, "unit-user-2", made["id"])
    r.eval(tokens.TOUCH_SCRIPT, 1, key, jobstore.now_iso())
    assert not r.exists(key)
    assert tokens.resolve(r, made["token"]) is None


@pytest.mark.parametrize(
    ("accounts", "valid"), [(None, True), ({"ann": object()}, True), ({"bob": object()}, False)]
)
def test_a_token_is_valid_only_while_its_account_exists(r, accounts, valid):
    """In accounts mode the token's user must still be in the users file."""
    made = tokens.create(r, "ann", "t")
    assert (tokens.resolve(r, made["token"], accounts) is not None) is valid
    tokens.revoke(r, "ann", made["id"])


def test_user_has_at_most_fifty_tokens(r):
    """The fifty-first token is refused with 409."""
    made = [tokens.create(r, "many", f"t{n}") for n in range(tokens.MAX_PER_USER)]
    with pytest.raises(tokens.ApiError) as refused:
        tokens.create(r, "many", "one more")
    assert refused.value.status == 409
    assert [t["name"] for t in tokens.listing(r, "many")][:2] == ["t0", "t1"]
    for token in made:
        tokens.revoke(r, "many", token["id"])
