"""An image's mode, transparency and colour profile made fit for thumbnails (Pillow only).

Transparency is kept: alpha channels, palettes' transparency and the transparent colour of
8- and 16-bit grey and RGB PNGs (``tRNS``), put on white for JPEG. An embedded ICC profile is
kept as it is, or, where the image must change colour space (CMYK to RGB), the pixels are
converted through it to sRGB; a profile that does not parse is dropped.
"""

from __future__ import annotations

import io

from PIL import Image
from PIL import ImageCms
from PIL import ImageMath

# Greyscale with more than 8 bits a sample (16-bit PNGs open as "I;16", or "I" in some Pillows).
DEEP_GREY = ("I", "I;16", "I;16L", "I;16B", "I;16N")


def prepare(image: Image.Image, fmt: str) -> tuple[Image.Image, bytes | None]:
    """Return the image in a mode the resampler and the format handle well, with the colour
    profile to embed in its thumbnails (None: sRGB, the default)."""
    image, icc = to_srgb_if_needed(image)
    transparency = image.info.get("transparency")
    if image.mode in DEEP_GREY:
        alpha = None
        if isinstance(transparency, int):
            # The transparent grey is a 16-bit value: find it before the samples are scaled.
            deep = image.convert("I")
            alpha = ImageMath.lambda_eval(lambda a: (a["v"] != transparency) * 255, v=deep)
        # Converting to 8 bits clips every sample above 255 to white: scale 0-65535 down first.
        if image.mode != "I;16":
            image = image.convert("I")
        image = image.point(lambda v: v / 257).convert("L")
        if alpha is not None:
            image.putalpha(alpha.convert("L"))
    elif image.mode == "RGB" and isinstance(transparency, tuple):
        if max(transparency) > 255:
            # A 16-bit PNG's transparent colour is given in 16 bits, the samples kept in 8.
            transparency = tuple(v >> 8 for v in transparency)
        image.info["transparency"] = transparency
        image = image.convert("RGBA")
    elif image.mode == "L" and transparency is not None:
        image = image.convert("LA")
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    if fmt == "JPEG" and image.mode in ("LA", "RGBA"):
        # JPEG has no transparency: put see-through parts on white, not on black.
        background = Image.new(image.mode[:-1], image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    return image, icc


def to_srgb_if_needed(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """Return the image and its ICC profile to keep; an image whose colour space cannot stay
    (CMYK) is converted through its profile to sRGB instead; a profile that does not parse is
    dropped rather than copied."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image, None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return image, None
    if image.mode in ("L", "LA", "RGB", "RGBA", *DEEP_GREY, "P", "1"):
        return image, icc
    try:
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(image, profile, srgb, outputMode="RGB"), None
    except ImageCms.PyCMSError:
        return image, None
