"""One error type for the API, turned into the contract's JSON by one handler."""

from __future__ import annotations

import redis
from flask import Flask
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tasks.formats.amounts import size_text


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with its HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str):
    """Return the contract's JSON error."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _code(exc: HTTPException) -> str:
    """Turn an HTTP error's name into a snake_case code."""
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register(app: Flask) -> None:
    """Answer every error under /api (and /healthz) as JSON, never HTML or a traceback."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        """Answer an API error with its own status, code and message."""
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        """Answer a missing or bad CSRF token."""
        return error_response(
            400, "csrf_failed", f"Missing or invalid CSRF token: {exc.description}"
        )

    @app.errorhandler(413)
    def too_large(exc: HTTPException):
        """Answer an upload over the size limit, whether declared or found while streaming; or
        a smaller request whose form has too many fields, or a field too large, besides files
        (Werkzeug's ``max_form_parts`` and ``MAX_FORM_MEMORY_SIZE``)."""
        limit = app.config["MAX_UPLOAD_BYTES"]
        if request.content_length is not None and request.content_length <= limit:
            return error_response(
                413,
                "form_too_large",
                "The form has too many fields, or a field other than a file is too large.",
            )
        return error_response(
            413,
            "file_too_large",
            f"The upload is larger than this server takes: {size_text(limit)}.",
        )

    @app.errorhandler(414)
    def uri_too_long(exc: HTTPException):
        """Answer a request line over the server's limit (refused by the server before the app
        reads it; :mod:`webapp.serving` asks this handler for the answer)."""
        if not _wants_json():
            return page_error(exc)
        return error_response(414, "uri_too_long", exc.description or exc.name)

    @app.errorhandler(429)
    def rate_limited(exc: HTTPException):
        """Answer a request over its rate limit, saying which limit."""
        return error_response(
            429, "rate_limited", f"Too many requests: the limit is {exc.description}. Try later."
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """Answer HTTP errors as JSON under the API, as a page of the site elsewhere."""
        if not _wants_json():
            return page_error(exc)
        response = error_response(exc.code or 500, _code(exc), exc.description or exc.name)
        # Keep what the error says besides its body (405's Allow, for one).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def store_unavailable(exc: redis.RedisError):
        """Answer 503 while Redis (the job store) cannot be reached: nothing was changed, and
        the same request works once it is back."""
        app.logger.warning(
            "Redis unreachable on %s %s: %s", request.method, request.path, exc or type(exc)
        )
        response = error_response(
            503,
            "store_unavailable",
            "The job store (Redis) cannot be reached now; try again in a few seconds.",
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        """Log an unexpected error and answer without a traceback."""
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on the server.")


PAGE_ERRORS = {
    404: "There is no such page here: the job or batch may have been deleted, or the address "
    "is not whole.",
}


def page_error(exc: HTTPException):
    """Return the site's page for an HTTP error of a page (its header and a way back), with the
    error's status and headers; a redirect or an answer without a body is passed on as is."""
    code = exc.code or 500
    if code < 400 or exc.response is not None:
        return exc
    try:
        html = render_template(
            "error.html",
            code=code,
            name=exc.name,
            description=PAGE_ERRORS.get(code, exc.description or exc.name),
        )
    except Exception:  # the page itself failing must not hide the error
        current_app.logger.exception("the error page could not be drawn")
        return exc
    return html, code, [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]


def _wants_json() -> bool:
    """Tell whether the request is for the API rather than a page."""
    return request.path.startswith(("/api/", "/healthz", "/metrics"))
