"""The image-thumbnails processor: sizes, EXIF orientation, zips of images, hostile archives."""

from __future__ import annotations

import errno
import io
import zipfile
from unittest.mock import Mock

import pytest
from PIL import Image
from PIL import PngImagePlugin

from tasks import registry
from tasks.formats import FormatError
from tasks.formats import binary
from tasks.processors import image_thumbnails
from tasks.progress import Cancelled
from tasks.progress import Progress


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


def test_png_thumbnails_keep_the_aspect_ratio(thumbnails):
    """Shrink a PNG to each size, keeping its aspect ratio."""
    result, images = thumbnails(image_bytes((400, 200)), sizes=[128, 64])
    assert result == {
        "output": "thumbnails.zip",
        "sizes": [64, 128],
        "format": "keep",
        "images": 1,
        "thumbnails": 2,
        "skipped_count": 0,
        "skipped": [],
        "previews": [{"file": "previews/01.png", "name": "image-64.png"}],
    }
    assert {name: im.size for name, im in images.items()} == {
        "image-128.png": (128, 64),
        "image-64.png": (64, 32),
    }
    assert all(im.format == "PNG" for im in images.values())


def test_small_images_are_not_enlarged(thumbnails):
    """Leave an image smaller than the size at its own size."""
    _, images = thumbnails(image_bytes((50, 30)), sizes=[128])
    assert images["image-128.png"].size == (50, 30)


def test_exif_orientation_is_applied(thumbnails):
    """Turn a JPEG upright by its EXIF orientation."""
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
    """Save thumbnails in the source's format or the one asked for."""
    _, images = thumbnails(image_bytes((100, 100), source), sizes=[64], format=option)
    assert list(images) == [name]
    assert images[name].format == fmt


def test_transparent_png_to_jpeg_goes_on_white(thumbnails):
    """Put transparent parts on white when saving as JPEG."""
    data = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(data, "PNG")
    _, images = thumbnails(data.getvalue(), sizes=[32], format="jpeg")
    assert images["image-32.jpg"].convert("RGB").getpixel((5, 5)) == (255, 255, 255)


def test_zip_of_images_keeps_folders_and_skips_non_images(thumbnails, stores):
    """Keep entry folders, make names unique and skip non-images in a zip."""
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
    """Skip an image in a zip that does not decode, saying why."""
    good = image_bytes((40, 40))
    result, images = thumbnails(zip_bytes({"ok.png": good, "broken.png": good[:60]}), sizes=[16])
    assert list(images) == ["ok-16.png"]
    assert result["skipped"][0]["entry"] == "broken.png"
    assert "decoded" in result["skipped"][0]["reason"]


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
        {"tasks.formats.archives.MAX_ENTRIES": 3},
        "too many entries",
    ),
    "too large declared total": (
        zip_bytes({"a.png": PNG, "b.png": PNG}),
        {"tasks.formats.archives.MAX_TOTAL_BYTES": len(PNG) + 1},
        "unpacks to more than",
    ),
    "too large entry": (
        zip_bytes({"a.png": PNG}),
        {"tasks.formats.archives.MAX_ENTRY_BYTES": 10},
        "unpacks to more",
    ),
    "decompression bomb": (
        zip_bytes({"a.png": image_bytes((100, 100))}),
        {"tasks.processors.image_thumbnails.MAX_PIXELS": 9999},
        "pixels",
    ),
    "damaged archive": (b"PK\x03\x04" + b"\x00" * 100, {}, "zip"),
    "only non-images": (zip_bytes({"a.txt": b"hello"}), {}, "no PNG"),
    "text instead of an image": (b"hello, world\n", {}, "not a PNG, JPEG or WebP"),
}


@pytest.mark.parametrize(("content", "limits", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_uploads_are_refused(thumbnails, monkeypatch, content, limits, message):
    """Refuse hostile archives and images with a message naming the problem."""
    for target, value in limits.items():
        monkeypatch.setattr(target, value)
    with pytest.raises(FormatError, match=message):
        thumbnails(content)


@pytest.mark.parametrize(
    ("content", "refused"),
    [
        (zip_bytes({}), "the .zip is empty."),
        (b"hello, world\n", "it is not a PNG, JPEG or WebP image, nor a .zip of them."),
        (zip_bytes({"a.png": PNG}), None),
        (PNG, None),
    ],
    ids=["empty zip", "text", "zip of an image", "image"],
)
def test_upload_check_refuses_an_empty_zip_with_a_sentence(content, refused):
    """The check made at upload (a 415 there) refuses a zip of nothing, as it does text."""
    assert registry.get("image-thumbnails").check_content(content[: binary.SNIFF_BYTES]) == refused


def png_with_text(*sizes: int) -> bytes:
    """Return a small PNG with a compressed text chunk (metadata) of each size."""
    info = PngImagePlugin.PngInfo()
    for n, size in enumerate(sizes):
        info.add_text(f"Comment{n}", "a" * size, zip=True)
    data = io.BytesIO()
    Image.new("RGB", (8, 8)).save(data, "PNG", pnginfo=info)
    return data.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            png_with_text(2 * 1024 * 1024),
            "a text chunk of it (metadata) unpacks to more than 1 MiB (1,048,576 bytes)",
        ),
        (
            png_with_text(*[1000 * 1024] * 70),
            "its text chunks (metadata) unpack to more than 64 MiB (67,108,864 bytes) in all",
        ),
        (PNG[:-30], "the image is cut short and could not be decoded"),
    ],
    ids=["huge text chunk", "many text chunks", "truncated"],
)
def test_undecodable_image_is_said_in_our_words(thumbnails, content, message):
    """What Pillow says in its own code's terms (MAX_TEXT_CHUNK, bytes not processed) is said
    in ours."""
    with pytest.raises(FormatError) as failed:
        thumbnails(content)
    assert str(failed.value) == f"The file is not a usable image: {message}."


def test_the_documented_pixel_limit_is_the_one_applied(thumbnails, monkeypatch):
    """Apply the processor's own pixel limit and quote it, never Pillow's."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # Pillow's error is at twice this
    monkeypatch.setattr(image_thumbnails, "MAX_PIXELS", 20_000)
    result, _ = thumbnails(image_bytes((100, 100)), sizes=[32])
    assert result["images"] == 1
    with pytest.raises(FormatError, match=r"150×150 pixels, more than the 20,000 allowed"):
        thumbnails(image_bytes((150, 150)))
    assert Image.MAX_IMAGE_PIXELS == 3000  # Pillow's setting is left as it was


def test_cancel_stops_between_images(tmp_path):
    """Stop between images when the job is cancelled."""
    src = tmp_path / "input"
    src.write_bytes(zip_bytes({"a.png": PNG, "b.png": PNG}))
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: True, interval=0)
    options = registry.get("image-thumbnails").validate({})
    with pytest.raises(Cancelled):
        image_thumbnails.work(src, tmp_path, options, progress)


def test_16_bit_greyscale_png_keeps_its_greys(thumbnails):
    """Scale 16-bit greys down to 8 bits instead of clipping them to white."""
    image, data = Image.new("I;16", (64, 32)), io.BytesIO()
    image.putdata([32768 if x < 32 else 65535 for _ in range(32) for x in range(64)])
    image.save(data, "PNG")
    assert Image.open(data).mode == "I;16"
    _, images = thumbnails(data.getvalue(), sizes=[32])
    thumb = images["image-32.png"]
    assert (thumb.size, thumb.mode) == ((32, 16), "L")
    assert 120 <= thumb.getpixel((4, 8)) <= 135
    assert thumb.getpixel((28, 8)) == 255


@pytest.mark.parametrize("mode", ["I", "I;16", "I;16B"])
def test_deep_grey_modes_are_scaled_to_8_bits(mode):
    """Map 0, 32768 and 65535 to black, mid grey and white in every deep grey mode."""
    image = Image.new(mode, (3, 1))
    image.putdata([0, 32768, 65535])
    prepared, _ = image_thumbnails.prepare(image, "PNG")
    assert prepared.mode == "L"
    assert list(prepared.getdata()) == [0, 127, 255]


def detailed(size: tuple[int, int]) -> Image.Image:
    """Return an RGB image with detail everywhere, so any resampling difference shows."""
    grey = Image.effect_mandelbrot(size, (-2.0, -1.5, 1.0, 1.5), 100)
    return Image.merge("RGB", (grey, Image.linear_gradient("L").resize(size), grey.rotate(90)))


@pytest.mark.parametrize("size", [(400, 200), (199, 301), (1000, 3), (3, 1000), (257, 255)])
def test_thumbnails_equal_pillows_without_copying_the_image(thumbnails, monkeypatch, size):
    """Resize from the original to the very thumbnails Image.thumbnail makes of copies."""
    source, data, sizes = detailed(size), io.BytesIO(), [16, 128, 256]
    source.save(data, "PNG")
    expected = {}
    for side in sizes:
        expected[f"image-{side}.png"] = thumb = source.copy()
        thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    monkeypatch.setattr(Image.Image, "copy", Mock(side_effect=AssertionError("copied")))
    _, images = thumbnails(data.getvalue(), sizes=sizes)
    monkeypatch.undo()
    assert {n: im.size for n, im in images.items()} == {n: im.size for n, im in expected.items()}
    for name, image in images.items():
        assert image.convert("RGB").tobytes() == expected[name].tobytes(), name


EIO = OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize(
    ("content", "error", "raised"),
    [(PNG, EIO, OSError), (zip_bytes({"a.png": PNG}), EIO, OSError), (PNG, OSError("bad"), None)],
    ids=["image", "image in a zip", "lasting error"],
)
def test_transient_error_is_raised_for_a_retry(thumbnails, monkeypatch, content, error, raised):
    """Let a transient I/O error through, so the registry retries; a lasting one is a message."""
    monkeypatch.setattr(image_thumbnails.Image, "open", Mock(side_effect=error))
    with pytest.raises(raised or FormatError) as caught:
        thumbnails(content)
    if raised:
        assert caught.value is error and binary.is_transient(caught.value)
    else:
        assert "not a usable image: the image could not be decoded (bad)" in str(caught.value)
