"""Make thumbnails of a PNG, JPEG or WebP image, or of every image in a .zip, as a .zip.

Hostile input is refused before it costs much: decompression bombs (too many pixels), too many
zip entries, too large a declared or actual unpacked size, unsafe entry paths and nested
archives fail the job. Entries that are not images (or that will not decode) are skipped and
listed in the result, so one stray README does not fail a folder of photos.
"""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from pathlib import Path
from pathlib import PurePosixPath
from typing import BinaryIO

from celery import shared_task
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from tasks import files
from tasks import registry
from tasks.progress import Progress
from tasks.registry import ProcessorError

OUTPUT = "thumbnails.zip"
MAX_PIXELS = 40_000_000  # about 160 MB decoded as RGBA
MAX_ENTRIES = 1000
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
SPOOL_BYTES = 8 * 1024 * 1024
SKIPPED_SHOWN = 20
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
ARCHIVE_SUFFIXES = {".zip", ".jar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar"}
ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x28\xb5\x2f\xfd",
)


class Skip(Exception):
    """An entry that is not a usable image: noted in the result, not fatal."""


def sniff(head: bytes) -> str | None:
    """Return why bytes are neither an image nor a zip, or None when they are one."""
    if files.image_kind(head) or files.is_zip(head):
        return None
    return "it is not a PNG, JPEG or WebP image, nor a .zip of them."


def thumbnail_format(source: str, option: str) -> str:
    """Return the Pillow format to save thumbnails in."""
    return source if option == "keep" else option.upper()


def prepare(image: Image.Image, fmt: str) -> Image.Image:
    """Return the image in a mode the resampler and the format handle well."""
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    if fmt == "JPEG" and image.mode in ("LA", "RGBA"):
        # JPEG has no transparency: put see-through parts on white, not on black.
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    return image


def open_image(stream: BinaryIO, label: str, largest: int) -> tuple[Image.Image, str]:
    """Decode an image upright, refusing bombs; return it with its format."""
    with warnings.catch_warnings():
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
                return ImageOps.exif_transpose(image), image.format
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ProcessorError(f"{label} has too many pixels: {exc}") from None
        except UnidentifiedImageError:
            raise Skip("it is not a PNG, JPEG or WebP image Pillow can read") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise Skip(f"the image could not be decoded ({exc})") from None


def write_thumbnails(
    stream: BinaryIO, stem: str, label: str, options: dict, archive: zipfile.ZipFile
) -> int:
    """Add one image's thumbnails to the output archive; return how many."""
    sizes = sorted(set(options["sizes"]), reverse=True)
    image, source = open_image(stream, label, sizes[0])
    fmt = thumbnail_format(source, options["format"])
    image = prepare(image, fmt)
    for size in sizes:
        thumb = image.copy()
        thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
        data = io.BytesIO()
        thumb.save(data, fmt)
        archive.writestr(f"{stem}-{size}{FORMATS[fmt]}", data.getvalue())
    return len(sizes)


def unsafe_name(name: str) -> bool:
    """Tell whether a zip entry's name could point outside the folder it is unpacked in."""
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(part == ".." for part in parts)
    )


def check_entries(src: Path) -> None:
    """Refuse an archive whose directory is too large, before ``zipfile`` reads it."""
    try:
        entries, directory = files.zip_directory(src)
    except ValueError:
        raise ProcessorError("The file is not a readable zip archive.") from None
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise ProcessorError(f"The zip has too many entries; at most {MAX_ENTRIES:,} are allowed.")


def check_infos(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive with too many entries, unsafe paths, nested archives or too much data."""
    if len(infos) > MAX_ENTRIES:
        raise ProcessorError(f"The zip has too many entries; at most {MAX_ENTRIES:,} are allowed.")
    total = 0
    for info in infos:
        name = info.filename[:200]
        if unsafe_name(info.filename):
            raise ProcessorError(f"Zip entry {name!r} has an unsafe path.")
        if PurePosixPath(info.filename.lower()).suffix in ARCHIVE_SUFFIXES:
            raise ProcessorError(f"Zip entry {name!r} is an archive; nested archives are refused.")
        if info.file_size > MAX_ENTRY_BYTES:
            raise ProcessorError(
                f"Zip entry {name!r} unpacks to more than {MAX_ENTRY_BYTES:,} bytes."
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ProcessorError(f"The zip unpacks to more than {MAX_TOTAL_BYTES:,} bytes.")


def unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, spool: BinaryIO, budget: int) -> int:
    """Copy one entry into ``spool``, counting real bytes against its declared size; return them."""
    name = info.filename[:200]
    if info.flag_bits & 0x1:
        raise Skip("it is encrypted")
    count = 0
    try:
        with archive.open(info) as entry:
            for chunk in files.read_chunks(entry):
                count += len(chunk)
                # zipfile stops at the declared size, but we do not bet the worker on that.
                if count > info.file_size or count > budget:
                    raise ProcessorError(
                        f"Zip entry {name!r} unpacks to more than it declares or we allow."
                    )
                spool.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, OSError) as exc:
        raise ProcessorError(f"Zip entry {name!r} is damaged: {exc}") from None
    spool.seek(0)
    head = spool.read(16)
    spool.seek(0)
    if head.startswith(ARCHIVE_MAGIC):
        raise ProcessorError(f"Zip entry {name!r} is an archive; nested archives are refused.")
    if files.image_kind(head) is None:
        raise Skip("it is not a PNG, JPEG or WebP image")
    return count


def from_zip(
    src: Path, out: Path, options: dict, progress: Progress, dest: zipfile.ZipFile
) -> dict:
    """Make thumbnails of every image in the archive at ``src``."""
    check_entries(src)
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ProcessorError(f"The file is not a readable zip archive: {exc}") from None
    images = thumbnails = unpacked = 0
    skipped: list[dict] = []
    stems: set[str] = set()
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        check_infos(infos)
        progress.total = len(infos)
        for info in infos:
            progress.check_cancelled()
            with tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=out) as spool:
                try:
                    unpacked += unpack(archive, info, spool, MAX_TOTAL_BYTES - unpacked)
                    stem = unique(str(PurePosixPath(info.filename).with_suffix("")), stems)
                    thumbnails += write_thumbnails(spool, stem, info.filename, options, dest)
                    images += 1
                except Skip as why:
                    skipped.append({"entry": info.filename[:200], "reason": str(why)})
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


def work(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Write thumbnails of the uploaded image, or of each image in the uploaded zip."""
    options = {"sizes": [128, 512], "format": "keep"} | options
    head = files.read_head(src)
    with zipfile.ZipFile(out / OUTPUT, "w", zipfile.ZIP_STORED) as dest:
        # Stored, not deflated: PNG, JPEG and WebP are compressed already.
        if files.is_zip(head):
            counts = from_zip(src, out, options, progress, dest)
        else:
            progress.total = 1
            with open(src, "rb") as f:
                try:
                    thumbnails = write_thumbnails(f, "image", "The image", options, dest)
                except Skip as why:
                    raise ProcessorError(f"The file is not a usable image: {why}.") from None
            counts = {"images": 1, "thumbnails": thumbnails, "skipped_count": 0, "skipped": []}
            progress.advance(1, message="done")
    return {
        "output": OUTPUT,
        "sizes": sorted(set(options["sizes"])),
        "format": options["format"],
    } | counts


@shared_task(bind=True)
def image_thumbnails(self, options: dict) -> dict:
    """Make thumbnails of the job's uploaded image or zip of images."""
    return registry.run(self, work, options, unit="images")


PROCESSOR = registry.Processor(
    name="image-thumbnails",
    title="Image thumbnails",
    task=image_thumbnails,
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
