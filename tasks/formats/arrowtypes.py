"""What a batch of CSV cells means, typed by Arrow over the whole batch at once.

:func:`classify` gives what :func:`tasks.formats.csvtypes.parse` would give each of a batch of
distinct cells, when they are all integers, floats, ISO dates or plain text, by Arrow casts and
numpy checks of their bytes (``tests/unit/test_csvtypes.py`` checks the two agree on random
batches); any other batch it leaves to the cell parse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.formats import arrowtext
from tasks.formats.csvtypes import DATE
from tasks.formats.csvtypes import FLOAT
from tasks.formats.csvtypes import INTEGER
from tasks.formats.csvtypes import LARGE
from tasks.formats.csvtypes import TEXT

DATE_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])  # where YYYY-MM-DD has its digits
# First bytes that make a value text whatever follows: printable ASCII but for a space, a
# number's first character, and the first letters of the null and boolean words (n, t, f).
TEXT_FIRST = np.isin(np.arange(256), np.frombuffer(b"+-.0123456789nNtTfF", np.uint8), invert=True)
TEXT_FIRST[:33] = TEXT_FIRST[127:] = False
# Byte tables: which bytes may appear in an integer, and in a float, as Arrow reads them.
ONLY = {
    allowed: np.isin(np.arange(256), np.frombuffer(allowed, np.uint8))
    for allowed in (b"0123456789", b"-0123456789", b"+-.0123456789eE")
}
DIGITS = ONLY[b"0123456789"]
POWERS_OF_TEN = np.array([10**i for i in range(19)], dtype=np.int64)


def classify(values: pa.Array, first: str | None = None) -> tuple[str, Any] | None:
    """Type distinct, non-empty cells (an Arrow string array) by Arrow calls over the whole
    array, when they are all of one kind that is quick to tell; None leaves them to
    :func:`parse_batch`. Gives the kind and, for integers and floats, the values (a numpy
    array, as :func:`parse` would give each), for dates the earliest and latest text, for
    text None. ``first`` is the kind to try first (the column's last one)."""
    if not len(values):
        return None
    order = (first, INTEGER, FLOAT, DATE, TEXT) if first else (INTEGER, FLOAT, DATE, TEXT)
    for kind in order:
        found = CLASSIFIERS[kind](values)
        if found is not None:
            return kind, found
    return None


def arrow_integers(values: pa.Array) -> np.ndarray | None:
    """Return the values as integers when each is one as :data:`INTEGER_RE` reads them."""
    if not only(values, b"-0123456789"):  # a failing cast costs far more than this look
        return None
    try:
        ints = pc.cast(values, pa.int64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # Arrow reads "007" as 7 and nineteen digits too: a value is ours if it is as long as
    # its number written plainly (digits, and a minus sign); "+5" Arrow refuses.
    magnitude = np.abs(ints)
    if ints.min() <= -LARGE or ints.max() >= LARGE:
        return None
    digits = np.searchsorted(POWERS_OF_TEN, magnitude, side="right")
    digits = np.maximum(digits, 1) + (ints < 0)
    if not np.array_equal(np.diff(arrowtext.offsets_and_bytes(values)[0]), digits):
        return None
    return ints


def arrow_floats(values: pa.Array) -> np.ndarray | None:
    """Return the values as floats when each is a finite float by :data:`FLOAT_RE`."""
    # Arrow reads [+-] digits [. digits] [e [+-] digits] (some digits before or after the
    # point), nan, inf and infinity: with only these bytes, FLOAT_RE's numbers and the
    # integers. A value of ours has a point or an exponent.
    offsets, data = arrowtext.offsets_and_bytes(values)
    data = data[offsets[0] : offsets[-1]]
    if not ONLY[b"+-.0123456789eE"][data].all():
        return None
    marks = (data == ord(".")) | (data == ord("e")) | (data == ord("E"))
    if not arrowtext.per_value(offsets - offsets[0], marks).all():
        return None
    try:
        floats = pc.cast(values, pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return floats if np.isfinite(floats).all() else None


def only(values: pa.Array, allowed: bytes) -> bool:
    """Tell whether the values' bytes are all among ``allowed`` (one of :data:`ONLY`'s keys)."""
    offsets, data = arrowtext.offsets_and_bytes(values)
    return bool(ONLY[allowed][data[offsets[0] : offsets[-1]]].all())


def arrow_dates(values: pa.Array) -> tuple[str, str] | None:
    """Return the earliest and latest when every value is a valid ISO date (YYYY-MM-DD)."""
    offsets, data = arrowtext.offsets_and_bytes(values)
    starts = offsets[:-1]
    if (np.diff(offsets) != 10).any() or not only(values, b"-0123456789"):
        return None
    if (data[starts + 4] != ord("-")).any() or (data[starts + 7] != ord("-")).any():
        return None
    if not DIGITS[data[starts[:, None] + DATE_DIGITS]].all():
        return None
    try:
        pc.cast(values, pa.date32())  # refuses days a month does not have
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # Written alike, dates sort as their text does.
    bounds = pc.min_max(values)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return (low, high) if low >= "0001" else None  # Python has no year 0


def arrow_text(values: pa.Array) -> bool | None:
    """Return True when every value is text by its first character alone."""
    offsets, data = arrowtext.offsets_and_bytes(values)
    if not (offsets[1:] > offsets[:-1]).all():
        return None
    return True if TEXT_FIRST[data[offsets[:-1]]].all() else None


CLASSIFIERS = {INTEGER: arrow_integers, FLOAT: arrow_floats, DATE: arrow_dates, TEXT: arrow_text}
