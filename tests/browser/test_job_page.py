"""One job's page in a real browser: its result for a person, its error, its timeline, live."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import newest_row
from tests.browser.conftest import upload

pytestmark = pytest.mark.browser

ORDERS_CSV = (
    b"city,amount,ordered_on\nLisbon,12.50,2026-01-03\nOslo,,2026-02-11\nLima,7,2026-03-30\n"
)


def truncated_png() -> bytes:
    """Return the first half of a real PNG: it sniffs as a PNG but cannot be decoded."""
    image = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(image, "PNG")
    data = image.getvalue()
    return data[: len(data) // 2]


def open_newest_job(dashboard, state: str):
    """Wait until the newest job of the dashboard ends in ``state``, then open its page."""
    row = newest_row(dashboard)
    expect(row).to_have_attribute("data-state", state)
    row.locator(".job-link").click()
    dashboard.wait_for_url("**/jobs/*")
    return dashboard


def test_job_page_shows_digest_and_timeline(page):
    """A checksum job's page shows the digest to copy, and when it was created, ran, ended."""
    data = b"taskboard\n" * 1000
    upload(page, "checksum", [("data.bin", data)])

    job = open_newest_job(page, "SUCCESS")

    expect(job.locator("#job-state")).to_have_text("Done")
    expect(job.locator(".digest-value")).to_have_text(hashlib.sha256(data).hexdigest())
    expect(job.get_by_role("button", name="Copy the sha256 digest")).to_be_visible()
    steps = job.locator("#job-timeline .timeline-label")
    expect(steps).to_have_text(["Created", "Started", "Done"])
    expect(job.locator("#job-bar")).to_have_attribute("aria-valuenow", "100")


def test_job_page_shows_a_csv_profile_as_a_table(page):
    """A csv-profile result is a table with one row per column of the file, named as in it."""
    upload(page, "csv-profile", [("orders.csv", ORDERS_CSV)])

    job = open_newest_job(page, "SUCCESS")

    table = job.get_by_role("table", name="Columns of the CSV file")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody th")).to_have_text(["city", "amount", "ordered_on"])
    expect(job.get_by_role("heading", name="Columns (3)")).to_be_visible()


def test_job_page_previews_thumbnails_and_names_the_download(page):
    """An image job's page shows its thumbnails, and its button names the file it downloads."""
    image = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(image, "PNG")
    upload(page, "image-thumbnails", [("sunset.png", image.getvalue())])

    job = open_newest_job(page, "SUCCESS")

    previews = job.locator(".previews img")
    expect(previews).to_have_count(1)
    expect(previews).to_have_attribute("alt", "sunset-128.png")
    expect(job.locator(".previews figcaption")).to_have_text("sunset-128.png")
    job.wait_for_function("document.querySelector('.previews img').naturalWidth === 128")
    download = job.locator("#job-download")
    expect(download).to_have_text("Download sunset-thumbnails.zip")
    expect(download).to_have_attribute("download", "sunset-thumbnails.zip")
    with job.expect_download() as got:
        download.click()
    assert got.value.suggested_filename == "sunset-thumbnails.zip"


def test_job_page_shows_why_a_job_failed(page):
    """A job that fails shows its message for a person in an alert, and no result."""
    upload(page, "image-thumbnails", [("broken.png", truncated_png())])

    job = open_newest_job(page, "FAILURE")

    expect(job.locator("#job-state")).to_have_text("Failed")
    alert = job.locator("#job-error")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_have_text(
        "The file is not a usable image: the image is cut short and could not be decoded."
    )
    expect(job.locator("#job-result")).to_be_hidden()


def test_job_page_follows_a_running_job_live(open_page):
    """A job's own page subscribes and moves with it to SUCCESS, then shows the result."""
    dashboard = open_page("/")
    upload(dashboard, "simulate", [("watch.txt", b"x")], steps=20, interval_ms=100)
    job_id = newest_row(dashboard).get_attribute("data-id")

    job = open_page(f"/jobs/{job_id}")

    expect(job.locator("#job-title")).to_have_text("watch.txt")
    expect(job.locator("#job-state")).to_have_text("Done", timeout=15000)
    expect(job.locator("#job-result")).to_be_visible()
    expect(job.locator("#job-result-body")).to_contain_text("Steps")


def test_job_page_of_unknown_job_says_so(open_page):
    """The page of a job that does not exist says so instead of loading for ever."""
    job = open_page("/jobs/00000000-0000-4000-8000-000000000000")

    expect(job.locator("#job-title")).to_contain_text("does not exist")
    expect(job.locator("#job-bar")).to_be_hidden()
    expect(job.locator("#job-state")).to_be_hidden()


def test_job_page_of_a_job_deleted_elsewhere_keeps_nothing_of_it(page):
    """A job deleted from another tab or script leaves its page with no stale figures."""
    upload(page, "checksum", [("short-lived.txt", b"x" * 5000)])
    job = open_newest_job(page, "SUCCESS")
    expect(job.locator("#job-percent")).to_have_text("100%")
    csrf = job.request.get("/api/session").json()["csrf_token"]

    job.request.delete(f"/api/jobs/{job.url.rsplit('/', 1)[1]}", headers={"X-CSRFToken": csrf})

    expect(job.locator("#job-title")).to_have_text("This job was deleted.")
    for gone in ("#job-state", "#job-bar", "#job-delete", "#job-result"):
        expect(job.locator(gone)).to_be_hidden()
    for empty in ("#job-percent", "#job-message", "#job-rate", "#job-eta"):
        expect(job.locator(empty)).to_have_text("")


def test_profile_bounds_read_as_values_and_a_split_result_says_its_parts(page):
    """A column's min and max are shown as its values are (a year is 2012, not 2,012), its
    mean grouped; a split profile's parts read "4 parts", not a block of JSON."""
    shown = page.evaluate(
        """async () => {
        const { renderResult } = await import("/static/js/result.js");
        const box = document.createElement("div");
        renderResult(box, {
          rows: 3, parts: {total: 4, done: 4, running: 0},
          columns: [{name: "year", type: "integer", nulls: 0, distinct: 3, min: 2012,
                     max: 2024, mean: 12018.5, stddev: 6.0, top: [[2012, 1]]}],
        });
        const cells = [...box.querySelectorAll("tbody td.num")].map((td) => td.textContent);
        const terms = [...box.querySelectorAll("dt")].map((dt) => dt.textContent);
        const parts = box.querySelectorAll("dd")[terms.findIndex((t) => /part/i.test(t))];
        return {cells, parts: parts.textContent, json: parts.querySelector("pre") !== null};
      }"""
    )
    assert shown["cells"] == ["0", "3", "2012", "2024", "12,018.5", "6"]
    assert shown == shown | {"parts": "4 parts", "json": False}


def test_a_long_file_name_keeps_the_job_page_within_its_width(page):
    """A 200-character name: the download button names it cut short (all of it in its title)
    and the page does not scroll sideways."""
    name = "quarterly-report-" + "x" * 180 + ".csv"
    upload(page, "csv-to-xlsx", [(name, b"a,b\n1,2\n")])
    job = open_newest_job(page, "SUCCESS")
    download = job.locator("#job-download")
    expect(download).to_have_attribute("title", re.compile(r"^quarterly-report-x{100,}\.xlsx$"))
    assert job.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
