"""The ``notify`` field of a submission: who hears of a job's end, checked before anything is
stored. Any route that makes jobs (uploads, batches, schedules) calls :func:`parse_notify`, then
keeps :func:`record_fields` in each job's record; ``tasks.notify`` sends them when it ends."""

from __future__ import annotations

import json

from tasks import outbound
from tasks.delivery import webhook_key
from tasks.notify import EMAIL
from tasks.notify import WEBHOOK
from webapp.auth import accounts_mode
from webapp.auth import current_user
from webapp.auth import email_of
from webapp.errors import ApiError

MAX_TARGETS = 5
MAX_TEXT = 8 * 1024
SHAPE = 'notify is a JSON list of "email" and {"webhook": "https://..."} items.'


def parse_notify(value: object) -> list:
    """Return the checked ``notify`` list of a request: ``value`` is the multipart field's JSON
    text, or the list from a JSON body; absent or empty means ``[]``. Duplicates are dropped.

    Answers 400 ``bad_notify`` (not a list, an unknown kind, too many), ``no_email`` (``"email"``
    without an address: anonymous mode, or an account without one) or ``url_not_allowed``
    (a webhook URL Taskboard may not reach, see ``tasks.outbound``).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ApiError(400, "bad_notify", "notify is too long.")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ApiError(400, "bad_notify", f"notify is not valid JSON: {SHAPE}") from None
    if not isinstance(value, list):
        raise ApiError(400, "bad_notify", SHAPE)
    targets: list = []
    for item in value:
        target = parse_target(item)
        if target not in targets:
            targets.append(target)
    if len(targets) > MAX_TARGETS:
        raise ApiError(400, "bad_notify", f"notify takes at most {MAX_TARGETS} items.")
    return targets


def parse_target(item: object) -> str | dict:
    """Return one checked ``notify`` item, or answer 400 naming what is wrong with it."""
    if item == EMAIL:
        if not accounts_mode():
            raise ApiError(
                400,
                "no_email",
                "E-mail notifications need an account: this server has no sign-in, so it "
                "knows no address. Use a webhook, or the page's own notification.",
            )
        if not email_of(current_user()):
            raise ApiError(
                400, "no_email", "Your account has no e-mail address; ask an administrator."
            )
        return EMAIL
    if isinstance(item, dict) and set(item) == {WEBHOOK}:
        if not webhook_key():
            raise ApiError(400, "bad_notify", "Webhooks need WEBHOOK_SECRET set on the server.")
        try:
            return {WEBHOOK: outbound.check_url(item[WEBHOOK])}
        except outbound.URLNotAllowed as exc:
            raise ApiError(400, exc.code, f"Webhook: {exc}") from None
    shown = json.dumps(item)[:80]
    raise ApiError(400, "bad_notify", f"Unknown notification {shown}: {SHAPE}")


def record_fields(targets: list) -> dict[str, str]:
    """Return what a job's record keeps of its checked ``notify`` list (the list, and the
    owner's address when it has ``"email"``); nothing for an empty list."""
    if not targets:
        return {}
    fields = {"notify": json.dumps(targets)}
    if EMAIL in targets:
        fields["notify_email"] = email_of(current_user()) or ""
    return fields
