"""(e) Upload throughput and the web process' peak memory, for 100 MB and 1 GB files.

The file is streamed from a generator (one 1 MiB block sent again and again, never the whole
file in memory) as ``multipart/form-data`` with a Content-Length, over ``http.client``. The
web's peak RSS is read from ``VmHWM`` after resetting it (``/proc/<pid>/clear_refs``) before each
upload; growth is that peak less the RSS before. The job is a one-step simulate, which does not
read the file, and is deleted after each upload.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.common import Stack
from bench.common import memory_mb
from bench.common import table

SIZES_MB = [100, 1024]
BLOCK = 1024 * 1024


def body(boundary: str, size: int) -> tuple[int, Iterator[bytes]]:
    """Return the length of a multipart body holding a ``size``-byte file, and its parts."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="processor"\r\n\r\nsimulate\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n'
        f'{{"steps": 1, "interval_ms": 0}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = os.urandom(BLOCK)

    def parts() -> Iterator[bytes]:
        yield head
        left = size
        while left > 0:
            yield block if left >= BLOCK else block[:left]
            left -= BLOCK
        yield tail

    return len(head) + size + len(tail), parts()


def upload(stack: Stack, http_session, size: int) -> dict:
    """Send one file; return its time, throughput and the web's memory."""
    boundary = uuid.uuid4().hex
    length, parts = body(boundary, size)
    pid = stack.web.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = memory_mb(pid)["rss_mb"]
    cookie = "; ".join(f"{k}={v}" for k, v in http_session.cookies.items())
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=300)
    started = time.perf_counter()
    conn.putrequest("POST", "/api/jobs")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.putheader("Cookie", cookie)
    conn.putheader("X-CSRFToken", http_session.headers["X-CSRFToken"])
    conn.endheaders()
    for part in parts:
        conn.send(part)
    response = conn.getresponse()
    answer = response.read()
    seconds = time.perf_counter() - started
    conn.close()
    if response.status != 202:
        raise RuntimeError(f"upload answered {response.status}: {answer[:300]!r}")
    after = memory_mb(pid)
    job_id = json.loads(answer)["id"]
    remove(stack, http_session, job_id)
    return {
        "size_mb": size / 2**20,
        "seconds": seconds,
        "mb_per_s": size / 2**20 / seconds,
        "rss_before_mb": before,
        "peak_rss_mb": after["peak_rss_mb"],
        "peak_growth_mb": after["peak_rss_mb"] - before,
    }


def remove(stack: Stack, http_session, job_id: str) -> None:
    """Wait for the job to finish, then delete it and its file."""
    deadline = time.monotonic() + 60
    while http_session.get(f"{stack.url}/api/jobs/{job_id}").json()["state"] != "SUCCESS":
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not finish")
        time.sleep(0.1)
    http_session.delete(f"{stack.url}/api/jobs/{job_id}").raise_for_status()


def run(quick: bool = False) -> dict:
    """Upload each size (twice, the better kept) and return the results."""
    sizes = [100] if quick else SIZES_MB
    rows = []
    with Stack(worker=1, MAX_UPLOAD_BYTES=str(4 * 2**30)) as stack:
        http_session, _ = stack.user()
        upload(stack, http_session, 10 * 2**20)  # warm the server's code paths
        for size_mb in sizes:
            runs = [upload(stack, http_session, size_mb * 2**20) for _ in range(2)]
            best = max(runs, key=lambda r: r["mb_per_s"])
            rows.append(best | {"peak_growth_mb": max(r["peak_growth_mb"] for r in runs)})
    print(
        table(
            "(e) upload throughput and web peak RSS (eventlet)",
            ["size MB", "seconds", "MB/s", "RSS before MB", "peak RSS MB", "peak growth MB"],
            [
                [r["size_mb"], r["seconds"], r["mb_per_s"], r["rss_before_mb"], r["peak_rss_mb"],
                 r["peak_growth_mb"]]
                for r in rows
            ],
        )
    )  # fmt: skip
    return {"uploads": rows}
