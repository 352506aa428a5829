"""The HTTP side of the client: one session with the token, and errors as one line each."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT_S = 30


class ClientError(Exception):
    """Something that stops the command, said in one line (exit status 2)."""


class Refused(ClientError):
    """The server answered with the contract's JSON error."""

    def __init__(self, status: int, code: str, message: str, refused: list | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        # A batch whose every file was refused: each file's name and JSON error.
        self.refused = refused or []


class Api:
    """A Taskboard server's HTTP API, called with a personal API token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["User-Agent"] = "taskboard-client"

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kw: Any):
        """Send a request; return the response when its status is expected, else raise
        :class:`Refused` (a JSON error) or :class:`ClientError` (no server, or not ours)."""
        kw.setdefault("timeout", TIMEOUT_S)
        try:
            response = self.http.request(method, self.url + path, **kw)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise ClientError(f"{self.url} is not a server URL ({exc})") from None
        except requests.ConnectionError:
            raise ClientError(
                f"cannot reach {self.url}: connection refused or no such host "
                "(is the server running, and is --url / TASKBOARD_URL right?)"
            ) from None
        except requests.Timeout:
            raise ClientError(f"{self.url} did not answer within {TIMEOUT_S} s") from None
        if response.status_code in expect:
            return response
        raise self.refusal(response)

    def refusal(self, response: requests.Response) -> ClientError:
        """Return the error a response means: the server's JSON message, or not a Taskboard."""
        try:
            body = response.json()
            error = body["error"]
            code, message = str(error["code"]), str(error["message"])
            refused = body.get("refused") if isinstance(body.get("refused"), list) else None
        except (ValueError, KeyError, TypeError):
            return ClientError(
                f"{self.url} does not look like a Taskboard server "
                f"(HTTP {response.status_code} for {response.request.path_url})"
            )
        if response.status_code == 401:
            message = f"the server refused the token ({code}): {message}"
        return Refused(response.status_code, code, message, refused)

    def check(self) -> dict:
        """Return the session the token stands for; fail when the URL or the token is wrong."""
        response = self.call("GET", "/api/session")
        try:
            session = response.json()
            session["user"], session["mode"]
        except (ValueError, KeyError, TypeError):
            raise ClientError(f"{self.url} does not look like a Taskboard server") from None
        return session

    def job(self, job_id: str) -> dict:
        """Return a job's snapshot."""
        return self.call("GET", f"/api/jobs/{job_id}").json()
