"""Images as cameras and editors write them: MPO photos, 16-bit transparency, colour profiles."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image
from PIL import ImageCms

from tasks import registry
from tasks.processors import image_thumbnails


def png(width: int, height: int, colour_type: int, rows: list[bytes], trns: bytes) -> bytes:
    """Return a 16-bit PNG built chunk by chunk (Pillow writes no 16-bit RGB, nor tRNS for it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        """Return one PNG chunk with its length and CRC."""
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tRNS", trns)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def halves(left: bytes, right: bytes, width: int = 32, height: int = 16) -> list[bytes]:
    """Return rows whose left half repeats one sample and right half another."""
    return [left * (width // 2) + right * (width // 2)] * height


def test_multi_picture_jpeg_gives_thumbnails_of_its_first_picture(thumbnails):
    """Make JPEG thumbnails of a phone's MPO photo (two pictures in one file), no KeyError."""
    first, second = Image.new("RGB", (64, 32), "red"), Image.new("RGB", (64, 32), "blue")
    data = io.BytesIO()
    first.save(data, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data.getvalue())).format == "MPO"
    result, images = thumbnails(data.getvalue(), sizes=[16])
    thumb = images["image-16.jpg"]
    assert (result["images"], thumb.format, thumb.size) == (1, "JPEG", (16, 8))
    r, g, b = thumb.getpixel((8, 4))
    assert r > 200 and b < 60


def test_16_bit_grey_with_a_transparent_grey_keeps_it(thumbnails):
    """Keep a 16-bit grey PNG's transparent grey: see-through in PNG, white in JPEG."""
    content = png(32, 16, 0, halves(b"\x12\x34", b"\x00\x00"), trns=b"\x12\x34")
    _, images = thumbnails(content, sizes=[32], format="png")
    thumb = images["image-32.png"]
    assert thumb.mode == "LA"
    assert thumb.getpixel((4, 8))[1] == 0 and thumb.getpixel((28, 8)) == (0, 255)
    _, images = thumbnails(content, sizes=[32], format="jpeg")
    thumb = images["image-32.jpg"]
    assert thumb.getpixel((4, 8)) >= 250 and thumb.getpixel((28, 8)) <= 5


def test_16_bit_rgb_with_a_transparent_colour_keeps_it(thumbnails):
    """Keep a 16-bit RGB PNG's transparent colour: see-through in PNG, white in JPEG."""
    key = b"\x12\x34\x56\x78\x9a\xbc"
    content = png(32, 16, 2, halves(key, b"\xff\xff\x00\x00\x00\x00"), trns=key)
    _, images = thumbnails(content, sizes=[32], format="png")
    thumb = images["image-32.png"]
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((4, 8))[3] == 0 and thumb.getpixel((28, 8)) == (255, 0, 0, 255)
    _, images = thumbnails(content, sizes=[32], format="jpeg")
    thumb = images["image-32.jpg"]
    assert min(thumb.getpixel((4, 8))) >= 250
    r, g, b = thumb.getpixel((28, 8))
    assert r > 240 and g < 15 and b < 15


def test_8_bit_grey_with_a_transparent_grey_keeps_it(thumbnails):
    """Keep an 8-bit grey PNG's transparent grey instead of dropping it."""
    image = Image.new("L", (32, 16), 7)
    image.paste(200, (16, 0, 32, 16))
    data = io.BytesIO()
    image.save(data, "PNG", transparency=7)
    _, images = thumbnails(data.getvalue(), sizes=[32], format="jpeg")
    thumb = images["image-32.jpg"]
    assert thumb.getpixel((4, 8)) >= 250 and 190 <= thumb.getpixel((28, 8)) <= 210


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_embedded_colour_profile_is_kept(thumbnails, fmt):
    """Embed the source's ICC profile in its thumbnails, so wide-gamut photos keep colour."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(data, fmt, icc_profile=icc)
    _, images = thumbnails(data.getvalue(), sizes=[32, 16])
    assert len(images) == 2
    assert all(thumb.info.get("icc_profile") == icc for thumb in images.values())


def test_a_profile_that_does_not_parse_is_not_copied(thumbnails):
    """Leave out an embedded profile that is not a colour profile at all."""
    data = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(data, "JPEG", icc_profile=b"not a profile")
    _, images = thumbnails(data.getvalue(), sizes=[16])
    assert not images["image-16.jpg"].info.get("icc_profile")


def test_cmyk_jpeg_becomes_rgb(thumbnails):
    """Convert a CMYK JPEG without a profile to RGB thumbnails."""
    data = io.BytesIO()
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(data, "JPEG")
    _, images = thumbnails(data.getvalue(), sizes=[16])
    thumb = images["image-16.jpg"]
    assert thumb.mode == "RGB"


def test_names_in_the_zip_carry_the_uploads_name(tmp_path, progress):
    """Name thumbnails after the uploaded file, so two results unzipped together keep apart."""
    src = tmp_path / "input"
    src.write_bytes(png_rgb((64, 32)))
    (tmp_path / "out").mkdir()
    progress.source_name = "../Holiday: beach.photo.png"
    options = registry.get("image-thumbnails").validate({"sizes": [32, 16]})
    result = image_thumbnails.work(src, tmp_path / "out", options, progress)
    with zipfile.ZipFile(tmp_path / "out" / result["output"]) as archive:
        assert sorted(archive.namelist()) == [
            "Holiday_ beach.photo-16.png",
            "Holiday_ beach.photo-32.png",
        ]


def test_images_of_a_zip_go_in_a_folder_named_after_it(tmp_path, progress):
    """Put a zip's thumbnails in a folder named after the uploaded zip."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("a.png", png_rgb((20, 20)))
        archive.writestr("sub/b.png", png_rgb((20, 20)))
    src = tmp_path / "input"
    src.write_bytes(data.getvalue())
    (tmp_path / "out").mkdir()
    progress.source_name = "trip.zip"
    options = registry.get("image-thumbnails").validate({"sizes": [16]})
    result = image_thumbnails.work(src, tmp_path / "out", options, progress)
    with zipfile.ZipFile(tmp_path / "out" / result["output"]) as archive:
        assert sorted(archive.namelist()) == ["trip/a-16.png", "trip/sub/b-16.png"]
    assert [p["name"] for p in result["previews"]] == ["trip/a-16.png", "trip/sub/b-16.png"]


def test_previews_are_small_images_beside_the_output(thumbnails, tmp_path):
    """Keep a small preview of each image (at most 256 pixels a side) for the job page."""
    result, _ = thumbnails(png_rgb((1200, 600)), sizes=[1024, 512])
    assert result["previews"] == [{"file": "previews/01.png", "name": "image-512.png"}]
    preview = Image.open(tmp_path / "output" / "previews" / "01.png")
    assert preview.size == (256, 128)


def png_rgb(size: tuple[int, int]) -> bytes:
    """Return a plain RGB PNG of that size."""
    data = io.BytesIO()
    Image.new("RGB", size, "teal").save(data, "PNG")
    return data.getvalue()
