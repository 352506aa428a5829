"""The image-thumbnails processor: sizes, EXIF orientation, zips of images, hostile archives."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from tasks import image_thumbnails
from tasks.progress import Cancelled
from tasks.progress import Progress
from tasks.registry import ProcessorError


@pytest.fixture
def stores() -> list[dict]:
    """Collect the progress updates a work function stores."""
    return []


@pytest.fixture
def progress(stores) -> Progress:
    """Make a progress reporter that stores every update and is never cancelled."""
    return Progress(store=stores.append, is_cancelled=lambda: False, interval=0)


def image_bytes(size=(400, 200), fmt="PNG", orientation: int | None = None) -> bytes:
    """Return an image whose left half is red and right half blue."""
    image = Image.new("RGB", size, "blue")
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    data = io.BytesIO()
    if orientation is None:
        image.save(data, fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(data, fmt, exif=exif)
    return data.getvalue()


def zip_bytes(entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    """Return a zip archive holding the given entries."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return data.getvalue()


@pytest.fixture
def thumbnails(tmp_path, progress):
    """Run the processor on bytes; return the result and the thumbnails as name -> image."""

    def run(content: bytes, **options):
        src = tmp_path / "input"
        src.write_bytes(content)
        out = tmp_path / "output"
        out.mkdir(exist_ok=True)
        options = image_thumbnails.PROCESSOR.validate(options)
        result = image_thumbnails.work(src, out, options, progress)
        assert sorted(p.name for p in out.iterdir()) == [result["output"]]
        with zipfile.ZipFile(out / result["output"]) as archive:
            images = {
                name: Image.open(io.BytesIO(archive.read(name))) for name in archive.namelist()
            }
        return result, images

    return run


def test_png_thumbnails_keep_the_aspect_ratio(thumbnails):
    result, images = thumbnails(image_bytes((400, 200)), sizes=[128, 64])
    assert result == {
        "output": "thumbnails.zip",
        "sizes": [64, 128],
        "format": "keep",
        "images": 1,
        "thumbnails": 2,
        "skipped_count": 0,
        "skipped": [],
    }
    assert {name: im.size for name, im in images.items()} == {
        "image-128.png": (128, 64),
        "image-64.png": (64, 32),
    }
    assert all(im.format == "PNG" for im in images.values())


def test_small_images_are_not_enlarged(thumbnails):
    _, images = thumbnails(image_bytes((50, 30)), sizes=[128])
    assert images["image-128.png"].size == (50, 30)


def test_exif_orientation_is_applied(thumbnails):
    # Orientation 6: the camera was turned; the picture shows upright after 90° clockwise.
    _, images = thumbnails(image_bytes((300, 100), "JPEG", orientation=6), sizes=[120])
    thumb = images["image-120.jpg"].convert("RGB")
    assert thumb.size == (40, 120)
    red, blue = thumb.getpixel((20, 10)), thumb.getpixel((20, 110))
    assert red[0] > 200 and red[2] < 60
    assert blue[2] > 200 and blue[0] < 60


@pytest.mark.parametrize(
    ("source", "option", "name", "fmt"),
    [
        ("JPEG", "keep", "image-64.jpg", "JPEG"),
        ("WEBP", "keep", "image-64.webp", "WEBP"),
        ("JPEG", "png", "image-64.png", "PNG"),
        ("PNG", "jpeg", "image-64.jpg", "JPEG"),
        ("PNG", "webp", "image-64.webp", "WEBP"),
    ],
)
def test_thumbnail_format(thumbnails, source, option, name, fmt):
    _, images = thumbnails(image_bytes((100, 100), source), sizes=[64], format=option)
    assert list(images) == [name]
    assert images[name].format == fmt


def test_transparent_png_to_jpeg_goes_on_white(thumbnails):
    data = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(data, "PNG")
    _, images = thumbnails(data.getvalue(), sizes=[32], format="jpeg")
    assert images["image-32.jpg"].convert("RGB").getpixel((5, 5)) == (255, 255, 255)


def test_zip_of_images_keeps_folders_and_skips_non_images(thumbnails, stores):
    archive = zip_bytes(
        {
            "photos/": b"",
            "photos/a.png": image_bytes((200, 100)),
            "photos/a.jpg": image_bytes((100, 200), "JPEG"),
            "b.webp": image_bytes((64, 64), "WEBP"),
            "README.txt": b"not an image",
            "fake.png": b"plain text pretending",
        }
    )
    result, images = thumbnails(archive, sizes=[32])
    assert {name: im.size for name, im in images.items()} == {
        "photos/a-32.png": (32, 16),
        "photos/a~2-32.jpg": (16, 32),
        "b-32.webp": (32, 32),
    }
    assert (result["images"], result["thumbnails"], result["skipped_count"]) == (3, 3, 2)
    assert [s["entry"] for s in result["skipped"]] == ["README.txt", "fake.png"]
    assert stores[-1]["current"] == stores[-1]["total"] == 5


def test_undecodable_image_in_a_zip_is_skipped(thumbnails):
    good = image_bytes((40, 40))
    result, images = thumbnails(zip_bytes({"ok.png": good, "broken.png": good[:60]}), sizes=[16])
    assert list(images) == ["ok-16.png"]
    assert result["skipped"][0]["entry"] == "broken.png"
    assert "decoded" in result["skipped"][0]["reason"]


def lying_zip() -> bytes:
    """Return a zip whose one entry declares 100 bytes but unpacks to 100,000."""
    data = bytearray(zip_bytes({"big.png": b"\x00" * 100_000}, zipfile.ZIP_DEFLATED))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 22 : local + 26] = (100).to_bytes(4, "little")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    return bytes(data)


PNG = image_bytes((20, 20))
HOSTILE = {
    "path traversal": (zip_bytes({"../evil.png": PNG}), {}, "unsafe path"),
    "absolute path": (zip_bytes({"/etc/evil.png": PNG}), {}, "unsafe path"),
    "windows drive": (zip_bytes({"C:\\evil.png": PNG}), {}, "unsafe path"),
    "backslash traversal": (zip_bytes({"a\\..\\..\\evil.png": PNG}), {}, "unsafe path"),
    "nested by name": (zip_bytes({"inner.zip": b"whatever"}), {}, "nested"),
    "nested by content": (zip_bytes({"x.png": zip_bytes({"y.png": PNG})}), {}, "nested"),
    "gzip inside": (zip_bytes({"x.png": b"\x1f\x8b\x08\x00rest"}), {}, "nested"),
    "too many entries": (
        zip_bytes({f"{i}.png": PNG for i in range(4)}),
        {"MAX_ENTRIES": 3},
        "too many entries",
    ),
    "too large declared total": (
        zip_bytes({"a.png": PNG, "b.png": PNG}),
        {"MAX_TOTAL_BYTES": len(PNG) + 1},
        "unpacks to more than",
    ),
    "too large entry": (zip_bytes({"a.png": PNG}), {"MAX_ENTRY_BYTES": 10}, "unpacks to more"),
    "size that lies": (lying_zip(), {}, "big.png"),
    "decompression bomb": (
        zip_bytes({"a.png": image_bytes((100, 100))}),
        {"MAX_PIXELS": 9999},
        "pixels",
    ),
    "damaged archive": (b"PK\x03\x04" + b"\x00" * 100, {}, "zip"),
    "only non-images": (zip_bytes({"a.txt": b"hello"}), {}, "no PNG"),
    "text instead of an image": (b"hello, world\n", {}, "not a PNG, JPEG or WebP"),
}


@pytest.mark.parametrize(("content", "limits", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_uploads_are_refused(thumbnails, monkeypatch, content, limits, message):
    for name, value in limits.items():
        monkeypatch.setattr(image_thumbnails, name, value)
    with pytest.raises(ProcessorError, match=message):
        thumbnails(content)


def test_actual_bytes_are_counted_against_the_budget(tmp_path):
    src = tmp_path / "input"
    src.write_bytes(zip_bytes({"a.png": PNG}))
    with zipfile.ZipFile(src) as archive, io.BytesIO() as spool:
        with pytest.raises(ProcessorError, match="more than it declares"):
            image_thumbnails.unpack(archive, archive.getinfo("a.png"), spool, budget=10)


def test_pillow_bomb_warning_is_an_error(thumbnails, monkeypatch):
    # Between Pillow's limit and twice it, Pillow only warns; that must not slip through.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)
    with pytest.raises(ProcessorError, match="too many pixels"):
        thumbnails(image_bytes((100, 100)))


def test_cancel_stops_between_images(tmp_path):
    src = tmp_path / "input"
    src.write_bytes(zip_bytes({"a.png": PNG, "b.png": PNG}))
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: True, interval=0)
    options = image_thumbnails.PROCESSOR.validate({})
    with pytest.raises(Cancelled):
        image_thumbnails.work(src, tmp_path, options, progress)
