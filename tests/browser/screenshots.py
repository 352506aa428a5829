"""Take screenshots of the main states into docs/screenshots/, against a running Taskboard.

Run by hand: `make run` in one terminal, then
`.venv/bin/python tests/browser/screenshots.py http://127.0.0.1:5000`.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from playwright.sync_api import expect
from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
ARGS = CHROMIUM_ARGS


def sample_csv(rows: int = 2000) -> bytes:
    """Return a CSV of orders with numbers, dates, text and some missing values."""
    rng = random.Random(7)
    cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Tartu", "Quito"]
    lines = ["order_id,customer,city,amount,quantity,ordered_on,express"]
    for i in range(1, rows + 1):
        amount = "" if i % 37 == 0 else f"{rng.uniform(3, 900):.2f}"
        lines.append(
            f"{i},customer-{rng.randint(1, 400)},{rng.choice(cities)},{amount},"
            f"{rng.randint(1, 12)},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
            f"{rng.choice(['yes', 'no'])}"
        )
    return ("\n".join(lines) + "\n").encode()


def send(page, processor: str, name: str, data: bytes, **options) -> None:
    """Upload one file with a processor and options from the dashboard."""
    page.select_option("#processor", processor)
    for option, value in options.items():
        page.fill(f"[data-option={option}] input", str(value))
    file = {"name": name, "mimeType": "text/plain", "buffer": data}
    page.set_input_files("#file-input", files=[file])


def open_dashboard(context):
    """Open the dashboard and wait until its list is loaded and it is live."""
    page = context.new_page()
    page.goto("/")
    page.wait_for_selector("#jobs-body[aria-busy=false]", state="attached")
    page.wait_for_selector("#live-indicator[data-state=live]")
    page.wait_for_selector("#processor:not([disabled])")
    return page


def main(url: str) -> None:
    """Drive a fresh user through the main states, shooting each one."""
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        # Reduced motion: no bar caught halfway through its width transition.
        light = browser.new_context(
            base_url=url, viewport={"width": 1280, "height": 860}, reduced_motion="reduce"
        )
        page = open_dashboard(light)
        page.screenshot(path=OUT / "dashboard-empty.png")

        send(page, "csv-profile", "orders.csv", sample_csv())
        orders = page.locator(".job-row", has_text="orders.csv")
        expect(orders).to_have_attribute("data-state", "SUCCESS")
        send(page, "checksum", "backup.tar", b"\0" * 300_000)
        send(page, "simulate", "nightly-report.pdf", b"x", steps=400, interval_ms=100)
        send(page, "simulate", "survey-2026.xlsx", b"x", steps=250, interval_ms=60)
        send(page, "simulate", "queued-later.txt", b"x", steps=400, interval_ms=100)
        expect(page.locator(".job-row[data-state=PROGRESS]")).not_to_have_count(0)
        page.locator("#jobs-body .job-row[data-state=PROGRESS] .percent").first.wait_for()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.job-row[data-state=PROGRESS] .bar')]"
            ".every((bar) => Number(bar.getAttribute('aria-valuenow')) >= 8)",
            timeout=30000,
        )
        page.screenshot(path=OUT / "dashboard-running.png", full_page=True)

        dark = browser.new_context(
            base_url=url,
            viewport={"width": 1280, "height": 860},
            color_scheme="dark",
            reduced_motion="reduce",
            storage_state=light.storage_state(),
        )
        dark_page = open_dashboard(dark)
        dark_page.wait_for_selector(".job-row[data-state=PROGRESS]")
        dark_page.screenshot(path=OUT / "dashboard-dark.png", full_page=True)

        phone = browser.new_context(
            base_url=url,
            viewport={"width": 390, "height": 844},
            reduced_motion="reduce",
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            storage_state=light.storage_state(),
        )
        phone_page = open_dashboard(phone)
        phone_page.wait_for_selector(".job-row[data-state=PROGRESS]")
        phone_page.locator("#jobs-title").scroll_into_view_if_needed()
        phone_page.screenshot(path=OUT / "phone.png", full_page=True)

        page.locator(".job-row", has_text="orders.csv").locator(".job-link").click()
        page.wait_for_selector(".profile")
        page.screenshot(path=OUT / "job-csv-profile.png", full_page=True)

        dark_job = dark.new_page()
        dark_job.goto(page.url)
        dark_job.wait_for_selector(".profile")
        dark_job.screenshot(path=OUT / "job-csv-profile-dark.png", full_page=True)

        page.goto("/")
        page.wait_for_selector("#jobs-body[aria-busy=false]", state="attached")
        for button in page.get_by_role("button", name="Cancel").all():
            if button.is_visible():
                button.click()
        browser.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000")
