"""Make thumbnails of a PNG, JPEG or WebP image, or of every image in a .zip, as a .zip.

Colour is kept: an embedded ICC profile goes into the thumbnails as it is, or, where the image
must change colour space (CMYK to RGB), the pixels are converted through it to sRGB. Transparency
is kept (8- and 16-bit PNGs' transparent colour too) and put on white for JPEG. A multi-picture
JPEG (MPO, as phones write them) gives thumbnails of its first picture, as JPEG.

Hostile input is refused before it costs much: decompression bombs (too many pixels) here;
too many zip entries, too large a declared or actual unpacked size, unsafe entry paths and
nested archives in :mod:`tasks.formats.archives`. Each fails the job. Entries that are not
images (or that will not decode) are skipped and listed in the result, so one stray README
does not fail a folder of photos.
"""

from __future__ import annotations

import io
import math
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from pathlib import PurePosixPath
from typing import BinaryIO

from PIL import Image
from PIL import ImageOps
from PIL import PngImagePlugin
from PIL import UnidentifiedImageError

from tasks import registry
from tasks.formats import archives
from tasks.formats import binary
from tasks.formats import previews
from tasks.formats.amounts import size_text
from tasks.formats.colour import prepare
from tasks.progress import Progress
from tasks.registry import ProcessorError

OUTPUT = "thumbnails.zip"
LANCZOS = Image.Resampling.LANCZOS
MAX_PIXELS = 40_000_000  # about 160 MB decoded as RGBA
SPOOL_BYTES = 8 * 1024 * 1024
SKIPPED_SHOWN = 20
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


class Skip(Exception):
    """An entry that is not a usable image: noted in the result, not fatal."""


def sniff(head: bytes) -> str | None:
    """Return why bytes are neither an image nor a zip with something in it, or None when
    they are one."""
    if binary.is_empty_zip(head):
        return "the .zip is empty."
    if binary.image_kind(head) or binary.is_zip(head):
        return None
    return "it is not a PNG, JPEG or WebP image, nor a .zip of them."


def thumbnail_format(source: str, option: str) -> str:
    """Return the Pillow format to save thumbnails in."""
    return source if option == "keep" else option.upper()


def open_image(stream: BinaryIO, label: str, largest: int) -> tuple[Image.Image, str]:
    """Decode an image upright, refusing bombs; return it with its format."""
    with warnings.catch_warnings(), own_pixel_limit():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(stream, formats=list(FORMATS)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ProcessorError(
                        f"{label} is {width}×{height} pixels, more than the "
                        f"{MAX_PIXELS:,} allowed (a decompression bomb?)."
                    )
                # JPEG can decode at 1/2, 1/4 or 1/8 scale: far less memory and time.
                image.draft("RGB", (largest, largest))
                image.load()
                # In place: an upright image is not copied, so it is in memory only once.
                ImageOps.exif_transpose(image, in_place=True)
                # A multi-picture JPEG is a JPEG whose first picture is the photo.
                return image, "JPEG" if image.format == "MPO" else image.format
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ProcessorError(
                f"{label} has more than the {MAX_PIXELS:,} pixels allowed (a decompression bomb?)."
            ) from None
        except UnidentifiedImageError:
            raise Skip("it is not a PNG, JPEG or WebP image Pillow can read") from None
        except OSError as exc:
            if binary.is_transient(exc):
                raise  # the registry retries the job with backoff
            raise Skip(undecodable(exc)) from None
        except (SyntaxError, ValueError) as exc:
            raise Skip(undecodable(exc)) from None


def undecodable(exc: Exception) -> str:
    """Return why Pillow could not decode an image: in our words where its own would name its
    code (``PngImagePlugin.MAX_TEXT_CHUNK``) or count bytes it did not process, else its own."""
    text = str(exc)
    if "MAX_TEXT_CHUNK" in text:
        limit = size_text(PngImagePlugin.MAX_TEXT_CHUNK)
        return f"a text chunk of it (metadata) unpacks to more than {limit}"
    if "MAX_TEXT_MEMORY" in text:
        limit = size_text(PngImagePlugin.MAX_TEXT_MEMORY)
        return f"its text chunks (metadata) unpack to more than {limit} in all"
    if text.startswith("image file is truncated"):
        return "the image is cut short and could not be decoded"
    return f"the image could not be decoded ({text})"


@contextmanager
def own_pixel_limit() -> Iterator[None]:
    """Leave the pixel limit to :data:`MAX_PIXELS`, checked from the header before decoding.

    Pillow's own limit (about 179 million pixels, an error at twice that) would otherwise
    answer first for the largest images, quoting a number the documentation does not give.
    """
    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def fitted(width: int, height: int, size: int) -> tuple[int, int] | None:
    """Return the size within a ``size`` square that keeps the aspect ratio, or None if it fits.

    Rounded as Pillow's ``Image.thumbnail`` rounds it, so a resize gives the same thumbnail.
    """
    if width <= size and height <= size:
        return None
    aspect = width / height
    if aspect <= 1:
        w = min(
            math.floor(size * aspect),
            math.ceil(size * aspect),
            key=lambda n: abs(aspect - n / size),
        )
        return max(w, 1), size
    h = min(
        math.floor(size / aspect),
        math.ceil(size / aspect),
        key=lambda n: 0 if n == 0 else abs(aspect - size / n),
    )
    return size, max(h, 1)


def write_thumbnails(
    stream: BinaryIO,
    stem: str,
    label: str,
    options: dict,
    archive: zipfile.ZipFile,
    shown: previews.Previews | None = None,
) -> int:
    """Add one image's thumbnails to the output archive (and the smallest to ``shown``);
    return how many."""
    sizes = sorted(set(options["sizes"]), reverse=True)
    image, source = open_image(stream, label, sizes[0])
    fmt = thumbnail_format(source, options["format"])
    image, icc = prepare(image, fmt)
    for size in sizes:
        # Each size from the original (no copy of it): as Image.thumbnail would, reduce by an
        # integer factor first, then Lanczos.
        target = fitted(image.width, image.height, size)
        thumb = image if target is None else image.resize(target, LANCZOS, reducing_gap=2.0)
        data = io.BytesIO()
        thumb.save(data, fmt, **({"icc_profile": icc} if icc else {}))
        archive.writestr(f"{stem}-{size}{FORMATS[fmt]}", data.getvalue())
    if shown is not None:
        shown.add(thumb, fmt, f"{stem}-{sizes[-1]}{FORMATS[fmt]}")
    return len(sizes)


def from_zip(
    src: Path,
    out: Path,
    options: dict,
    progress: Progress,
    dest: zipfile.ZipFile,
    shown: previews.Previews,
) -> dict:
    """Make thumbnails of every image in the archive at ``src``, in a folder named after it
    (when its name is known)."""
    folder = previews.safe_stem(progress.source_name, "")
    archive, infos = archives.open_zip(src)
    images = thumbnails = unpacked = 0
    skipped: list[dict] = []
    stems: set[str] = set()
    with archive:
        progress.total = len(infos)
        for info in infos:
            progress.check_cancelled()
            with tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=out) as spool:
                try:
                    if info.flag_bits & 0x1:
                        raise Skip("it is encrypted")
                    budget = archives.MAX_TOTAL_BYTES - unpacked
                    unpacked += archives.unpack(archive, info, spool, budget)
                    if binary.image_kind(spool.read(16)) is None:
                        raise Skip("it is not a PNG, JPEG or WebP image")
                    spool.seek(0)
                    stem = unique(str(PurePosixPath(info.filename).with_suffix("")), stems)
                    stem = f"{folder}/{stem}" if folder else stem
                    thumbnails += write_thumbnails(spool, stem, info.filename, options, dest, shown)
                    images += 1
                except Skip as why:
                    skipped.append({"entry": info.filename[:200], "reason": str(why)})
                    progress.log(f"skipped {info.filename[:200]}: {why}", "warning")
            progress.advance(1, message=info.filename[:80])
    if not images:
        raise ProcessorError("The zip holds no PNG, JPEG or WebP image.")
    return {
        "images": images,
        "thumbnails": thumbnails,
        "skipped_count": len(skipped),
        "skipped": skipped[:SKIPPED_SHOWN],
    }


def unique(stem: str, taken: set[str]) -> str:
    """Return ``stem``, or it with a number when another entry already used it."""
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}~{n}"
    taken.add(candidate)
    return candidate


@registry.processor(
    "image-thumbnails",
    title="Image thumbnails",
    unit="images",
    accepts=[".png", ".jpg", ".jpeg", ".webp", ".zip"],
    options={
        "sizes": {
            "type": "array",
            "items": {"type": "integer", "minimum": 16, "maximum": 2048},
            "minItems": 1,
            "maxItems": 5,
            "uniqueItems": True,
            "default": [128, 512],
            "description": "Longest side of each thumbnail, in pixels (16 to 2048, up to 5 sizes).",
        },
        "format": {
            "enum": ["keep", "png", "jpeg", "webp"],
            "default": "keep",
            "description": "Thumbnail format; 'keep' uses each image's own.",
        },
    },
    sniff=sniff,
    output_name=lambda stem: f"{stem}-thumbnails.zip",
)
def work(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Write thumbnails of the uploaded image, or of each image in the uploaded zip."""
    options = {"sizes": [128, 512], "format": "keep"} | options
    head = binary.read_head(src)
    shown = previews.Previews(out)
    with zipfile.ZipFile(out / OUTPUT, "w", zipfile.ZIP_STORED) as dest:
        # Stored, not deflated: PNG, JPEG and WebP are compressed already.
        if binary.is_zip(head):
            counts = from_zip(src, out, options, progress, dest, shown)
        else:
            progress.total = 1
            # Named after the upload, so two results unzipped together keep apart.
            stem = previews.safe_stem(progress.source_name, "image")
            with open(src, "rb") as f:
                try:
                    thumbnails = write_thumbnails(f, stem, "The image", options, dest, shown)
                except Skip as why:
                    raise ProcessorError(f"The file is not a usable image: {why}.") from None
            counts = {"images": 1, "thumbnails": thumbnails, "skipped_count": 0, "skipped": []}
            progress.advance(1, message="done")
    return (
        {
            "output": OUTPUT,
            "sizes": sorted(set(options["sizes"])),
            "format": options["format"],
        }
        | counts
        | {"previews": shown.listed}
    )
