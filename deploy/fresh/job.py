"""Run one checksum job through the HTTP API of a running Taskboard and check its digest.

python job.py URL      exit status 0 when the job ends SUCCESS with the right SHA-256
"""

import hashlib
import sys
import time

import requests

PAYLOAD = b"Taskboard on a fresh machine\n" * 4096


def main(url: str) -> int:
    """Upload a file for checksum, wait for its end, compare the digest; return the status."""
    http = requests.Session()
    csrf = http.get(f"{url}/api/session", timeout=10).json()["csrf_token"]
    created = http.post(
        f"{url}/api/jobs",
        files={"file": ("fresh.bin", PAYLOAD)},
        data={"processor": "checksum"},
        headers={"X-CSRFToken": csrf},
        timeout=30,
    )
    if created.status_code != 202:
        print(f"job: POST /api/jobs answered {created.status_code}: {created.text}")
        return 1
    job = created.json()
    started = time.monotonic()
    while job["state"] not in ("SUCCESS", "FAILURE", "REVOKED"):
        if time.monotonic() - started > 120:
            print(f"job: still {job['state']} after 120 s")
            return 1
        time.sleep(0.2)
        job = http.get(f"{url}/api/jobs/{job['id']}", timeout=10).json()
    want = hashlib.sha256(PAYLOAD).hexdigest()
    got = (job.get("result") or {}).get("digests", {}).get("sha256")
    if job["state"] != "SUCCESS" or got != want:
        print(f"job: ended {job['state']} with {job.get('result')} {job.get('error')}")
        return 1
    print(f"job: checksum SUCCESS in {time.monotonic() - started:.1f} s, sha256 {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
