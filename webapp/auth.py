"""Who is asking: an identity per browser (anonymous mode) or accounts from configuration.

``AUTH_MODE=anonymous`` (the default) gives every browser a random identity in its signed
session cookie on its first request. ``AUTH_MODE=accounts`` takes users from ``USERS_FILE``,
a JSON object ``{"name": {"password": "<werkzeug hash>", "admin": true, "email": "..."}}``
written by ``python -m webapp.auth add NAME [--admin] [--email ADDRESS]``; nothing but the
session and login answers until someone signs in.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint
from flask import current_app
from flask import request
from flask import session
from flask_wtf.csrf import generate_csrf
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from tasks import settings
from webapp.errors import ApiError
from webapp.extensions import limiter

bp = Blueprint("auth", __name__)
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# One address, no display name: what a mail's To line may take without quoting.
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
# Checked when the name is unknown, so that a wrong name takes as long as a wrong password.
DUMMY_HASH = generate_password_hash("not a password")


@dataclass(frozen=True)
class Account:
    """A user from the users file."""

    name: str
    password_hash: str
    admin: bool = False
    email: str | None = None


def load_accounts(path: str | Path) -> dict[str, Account]:
    """Read the users file; refuse one that is not what ``python -m webapp.auth`` writes."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of users")
    accounts = {}
    for name, entry in data.items():
        if not NAME_PATTERN.fullmatch(name) or not isinstance(entry, dict):
            raise ValueError(f"{path}: bad entry for user {name!r}")
        if not str(entry.get("password", "")).count("$") >= 2:
            raise ValueError(f"{path}: user {name!r} needs a werkzeug password hash")
        email = entry.get("email") or None
        if email is not None and not valid_email(email):
            raise ValueError(f"{path}: user {name!r} has a bad e-mail address")
        accounts[name] = Account(name, entry["password"], bool(entry.get("admin", False)), email)
    return accounts


def valid_email(address: object) -> bool:
    """Tell whether ``address`` is one plain e-mail address (``name@domain``)."""
    return isinstance(address, str) and bool(EMAIL_PATTERN.fullmatch(address))


def email_of(user: str | None) -> str | None:
    """Return a signed-in user's e-mail address; None in anonymous mode or without one."""
    if not accounts_mode():
        return None
    account = current_app.extensions["accounts"].get(user or "")
    return account.email if account else None


def accounts_mode() -> bool:
    """Tell whether people must sign in."""
    return current_app.config["AUTH_MODE"] == "accounts"


def current_user() -> str:
    """Return the caller's identity: a new one for a new browser, or 401 without a sign-in."""
    if "user" in session:
        return session["user"]
    if accounts_mode():
        raise ApiError(401, "login_required", "Sign in first.")
    session["user"] = uuid.uuid4().hex
    session.permanent = True
    keep_csrf_secret()
    return session["user"]


def keep_csrf_secret() -> None:
    """Put the CSRF secret in a new session now, so the first cookie set carries it.

    Every answer sets the (permanent) session cookie again, as the session was when its request
    came: without this, a request sent alongside the page's first /api/session and ending after
    it would set a cookie without the secret, and the token the page got would be refused.
    """
    generate_csrf()


def signed_in_user() -> str | None:
    """Return the caller's identity without creating one."""
    return session.get("user")


def is_admin(user: str | None) -> bool:
    """Tell whether a user may see operators' pages: everyone in anonymous mode."""
    if not accounts_mode():
        return True
    account = current_app.extensions["accounts"].get(user or "")
    return bool(account and account.admin)


def describe_session() -> dict:
    """Return what a page needs to know of its session besides the CSRF token."""
    user = signed_in_user() if accounts_mode() else current_user()
    return {
        "user": user,
        "mode": current_app.config["AUTH_MODE"],
        "admin": bool(user) and is_admin(user),
    }


@bp.post("/api/login")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=lambda: request.remote_addr)
def login():
    """Sign in with a name and password from the users file."""
    if not accounts_mode():
        raise ApiError(404, "not_found", "This server has no accounts.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", 'Send {"username": ..., "password": ...} as JSON.')
    name, password = body.get("username"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise ApiError(400, "bad_request", "username and password must be strings.")
    account = current_app.extensions["accounts"].get(name)
    valid = check_password_hash(account.password_hash if account else DUMMY_HASH, password)
    if account is None or not valid:
        current_app.logger.warning("failed sign-in for %r from %s", name[:64], request.remote_addr)
        raise ApiError(401, "bad_credentials", "Wrong name or password.")
    # A new session: nothing of the signed-out one (its CSRF token included) carries over.
    session.clear()
    session["user"] = account.name
    session.permanent = True
    keep_csrf_secret()
    current_app.logger.info("%s signed in", account.name)
    return describe_session()


@bp.post("/api/logout")
def logout():
    """Sign out: forget the session's identity."""
    session.clear()
    return "", 204


def add_user(path: Path, name: str, password: str, admin: bool, email: str | None = None) -> None:
    """Add or replace a user in the users file, with a hashed password and an optional e-mail
    address (for notifications)."""
    if not NAME_PATTERN.fullmatch(name):
        raise SystemExit("A name is 1 to 64 letters, digits, '.', '_' or '-'.")
    if email is not None and not valid_email(email):
        raise SystemExit(f"{email!r} is not an e-mail address (name@domain).")
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {"password": generate_password_hash(password), "admin": admin}
    if email:
        data[name]["email"] = email
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.chmod(0o600)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> None:
    """Manage the users file: ``python -m webapp.auth add NAME [--admin] [--email ADDRESS]
    [--file PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m webapp.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user, or set a user's password")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may see the operations page")
    add.add_argument("--email", help="where notifications of the user's jobs are mailed")
    add.add_argument("--file", default=str(settings.USERS_FILE))
    args = parser.parse_args(argv)
    password = os.environ.get("TASKBOARD_PASSWORD") or getpass.getpass(
        f"Password for {args.name}: "
    )
    if len(password) < 8:
        raise SystemExit("Use a password of at least 8 characters.")
    add_user(Path(args.file), args.name, password, args.admin, args.email)
    print(f"{args.name} saved in {args.file}", file=sys.stderr)


if __name__ == "__main__":
    main()
