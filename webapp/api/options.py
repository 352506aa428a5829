"""A job's options, checked against its processor's: the one check uploads, URL imports,
schedules and retries share."""

from __future__ import annotations

from tasks import registry
from webapp.errors import ApiError


def check(processor: registry.Processor, options: object) -> dict:
    """Return ``options`` (a decoded JSON value) as the processor takes them, defaults filled
    in; answer 400 ``bad_options`` when they are not an object or an option is bad."""
    if not isinstance(options, dict):
        raise ApiError(400, "bad_options", "The options must be a JSON object.")
    try:
        return processor.validate(options)
    except registry.OptionsError as exc:
        raise ApiError(400, "bad_options", f"Bad option: {exc}") from None
