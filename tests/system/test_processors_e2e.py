"""The real processors end to end: upload, worker, pushed result, and the file to download."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from email.message import Message

import openpyxl
import pytest
from PIL import Image

from tasks.processors import csv_profile
from tasks.progress import Progress
from tests.parts import User

SALES = (
    "id,city,amount,paid,day,note\n"
    "1,Paris,10.5,true,2024-01-02,\n"
    "2,Rome,3,false,2024-01-01,=SUM(1;2)\n"
    "3,Paris,-2.25,TRUE,2024-01-01 00:00:00,late\n"
    "4,Oslo,100,false,2024-03-01T08:30:00,NULL\n"
    "5,Paris\n"
    "6,Paris,0,true,2023-12-31,ok\n"
)


def png(size: tuple[int, int] = (400, 200)) -> bytes:
    """Return a PNG of the given size, red on the left and blue on the right."""
    image = Image.new("RGB", size, "blue")
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    data = io.BytesIO()
    image.save(data, "PNG")
    return data.getvalue()


def zipped(entries: dict[str, bytes]) -> bytes:
    """Return a zip archive holding the given entries."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return data.getvalue()


def uploads(stack) -> set[str]:
    """Return what the upload folder holds: job folders and half-received files."""
    root = stack.upload_dir
    held = (
        {p.name for p in root.iterdir() if not p.name.startswith(".")} if root.exists() else set()
    )
    # The staging folder itself may be made by the first upload; what counts is what is in it.
    incoming = root / ".incoming"
    if incoming.exists():
        held |= {f".incoming/{p.name}" for p in incoming.iterdir()}
    return held


def jobs(user: User) -> list[str]:
    """Return the ids of the user's jobs."""
    return [j["id"] for j in user.http.get(user.url + "/api/jobs?limit=200").json()["jobs"]]


def download(user: User, job_id: str) -> tuple[str, bytes]:
    """Download a job's output file; return the name it is offered under and its bytes."""
    response = user.http.get(f"{user.url}/api/jobs/{job_id}/result")
    assert response.status_code == 200, response.text
    header = Message()
    header["Content-Disposition"] = response.headers["Content-Disposition"]
    assert header.get_content_disposition() == "attachment"
    return header.get_filename(), response.content


@pytest.mark.parametrize(
    ("processor", "filename", "content"),
    [
        ("csv-profile", "data.csv", png()),
        ("csv-to-xlsx", "data.csv", zipped({"a.csv": SALES.encode()})),
        ("image-thumbnails", "photo.png", b"just some text, not an image\n"),
    ],
)
def test_content_the_processor_cannot_take_is_refused(stack, user, processor, filename, content):
    """Answer 415 for content a processor cannot take, whatever its name, and keep nothing."""
    before_files, before_jobs = uploads(stack), jobs(user)
    response = user.upload(processor, content=content, filename=filename)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_file" and error["message"]
    assert uploads(stack) == before_files
    assert jobs(user) == before_jobs


def test_csv_to_xlsx_downloads_a_typed_workbook(user):
    """Convert a CSV on the worker and download it as <stem>.xlsx with typed cells."""
    job_id = user.submit("csv-to-xlsx", content=SALES.encode(), filename="sales 2024.csv")
    final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"})
    assert final["state"] == "SUCCESS", final["error"]
    assert (final["result"]["rows"], final["result"]["malformed"]["lines"]) == (6, [6])
    name, content = download(user, job_id)
    assert name == "sales 2024.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["id", "city", "amount", "paid", "day", "note"]
    assert rows[1] == [1, "Paris", 10.5, True, datetime(2024, 1, 2), None]
    assert rows[2] == [2, "Rome", 3, False, datetime(2024, 1, 1), "=SUM(1;2)"]
    assert sheet["F3"].data_type == "s"
    assert rows[4] == [4, "Oslo", 100, False, datetime(2024, 3, 1, 8, 30), "NULL"]


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        (
            "holiday.png",
            png((400, 200)),
            {"holiday-128.png": (128, 64), "holiday-64.png": (64, 32)},
        ),
        (
            "photos.zip",
            zipped({"trip/a.png": png((100, 300)), "b.png": png((50, 20)), "notes.txt": b"hi"}),
            {
                "photos/trip/a-128.png": (43, 128),
                "photos/trip/a-64.png": (21, 64),
                "photos/b-128.png": (50, 20),
                "photos/b-64.png": (50, 20),
            },
        ),
    ],
)
def test_image_thumbnails_download_a_zip_of_the_sizes(user, filename, content, expected):
    """Make thumbnails on the worker, named after the upload, and download them as
    <stem>-thumbnails.zip, the name the result gives the page; preview each image."""
    job_id = user.submit(
        "image-thumbnails", content=content, filename=filename, options={"sizes": [64, 128]}
    )
    final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"})
    assert final["state"] == "SUCCESS", final["error"]
    name, data = download(user, job_id)
    assert name == filename.rsplit(".", 1)[0] + "-thumbnails.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sizes = {n: Image.open(io.BytesIO(archive.read(n))).size for n in archive.namelist()}
    assert sizes == expected
    assert final["result"]["thumbnails"] == len(expected)
    assert final["result"]["download_name"] == name
    shown = final["result"]["previews"]
    assert [p["name"] for p in shown] == [n for n in expected if n.endswith("-64.png")]
    for number in range(1, len(shown) + 1):
        preview = user.http.get(f"{user.url}/api/jobs/{job_id}/previews/{number}")
        assert (preview.status_code, preview.headers["Content-Type"]) == (200, "image/png")
        assert max(Image.open(io.BytesIO(preview.content)).size) <= 64
    missing = user.http.get(f"{user.url}/api/jobs/{job_id}/previews/{len(shown) + 1}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_preview"


@pytest.mark.parametrize(
    ("processor", "content", "words"),
    [
        ("image-thumbnails", png()[:120], ["image", "decoded"]),
        ("image-thumbnails", zipped({"../evil.png": png()}), ["'../evil.png'", "unsafe path"]),
        ("image-thumbnails", zipped({"inner.zip": zipped({"a.png": png()})}), ["nested"]),
        ("csv-profile", ",".join(f"c{i}" for i in range(600)).encode(), ["Line 1", "600 fields"]),
    ],
    ids=["truncated png", "zip with traversal", "nested zip", "too many csv columns"],
)
def test_malformed_file_fails_with_a_readable_message(user, processor, content, words):
    """Push FAILURE for a malformed file, with a message saying what was wrong, no traceback."""
    job_id = user.submit(processor, content=content, filename="upload.bin")
    final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"})
    assert final["state"] == "FAILURE"
    error = final["error"]
    assert error and error[0].isupper()
    assert "Traceback" not in error and 'File "' not in error
    for word in words:
        assert word in error
    assert user.http.get(f"{user.url}/api/jobs/{job_id}/result").status_code == 404


def test_csv_profile_result_equals_the_work_functions(tmp_path, user):
    """Profile on the worker to exactly the result the work function gives here."""
    content = SALES.encode()
    src = tmp_path / "input"
    src.write_bytes(content)
    options = {"delimiter": ",", "header": "auto"}
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: False, interval=0)
    expected = csv_profile.work(src, tmp_path, options, progress)
    job_id = user.submit("csv-profile", content=content, filename="sales.csv", options=options)
    final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"})
    assert final["state"] == "SUCCESS", final["error"]
    assert final["result"] == json.loads(json.dumps(expected))
    assert final["progress"]["unit"] == "bytes"
    day = next(c for c in final["result"]["columns"] if c["name"] == "day")
    assert (day["min"], day["max"]) == ("2023-12-31", "2024-03-01T08:30:00")
