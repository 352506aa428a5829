"""Which text encoding a file is written in: decided once, from the whole file, before it is read.

The rules, in order:

1. A byte-order mark says it: UTF-8, UTF-16 (Excel's "Unicode Text") or UTF-32.
2. A file that is UTF-8 throughout is UTF-8. One pass at disk speed checks the whole file (ASCII
   chunks are skipped by one C call each), so a file is never re-read in another encoding.
3. Otherwise the lines holding non-ASCII bytes are decoded with each common legacy encoding
   (Windows Western, Central European, Cyrillic and Greek code pages, ISO-8859-7, Big5, GBK,
   Shift-JIS, EUC-KR); each decoding is scored for signs of garbling (control characters,
   symbols inside words, case flips, scripts mixed inside a word), and the cleanest wins, the
   more common encoding on a tie. Windows Western and Central European read many of the same
   bytes as clean letters ("Dvořák" and "Dvoøák"); between those two the language decides
   (:func:`misfit`): the decoding whose words each spell a word of one language, and whose
   letters one language's alphabet holds, wins.
4. When no encoding reads those bytes cleanly, the file is refused with a sentence saying so: a
   garbled profile or workbook is worse than none. The ``encoding`` option forces one instead.

Detectors that guess from byte statistics alone (charset-normalizer, chardet) take cp1252 for
cp1250 and back on short texts; the scores here read the decoded text as a person would.
charset-normalizer's language coherence was measured for the cp1252/cp1250 choice and does not
do it: it picks cp1250 for French and German cp1252 text, rates Polish read as cp1252 more
coherent than read right, and gives no answer under a few dozen letters.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import charset_normalizer

from tasks.formats import FormatError
from tasks.formats import binary

# Tried in this order; on equal scores the first wins (the more widely used one).
LEGACY = (
    "cp1252",
    "cp1250",
    "cp1251",
    "iso-8859-7",
    "cp1253",
    "cp950",
    "shift_jis",
    "gbk",
    "euc-kr",
)
NAMES = {
    "cp1252": "Windows Western (cp1252)",
    "cp1250": "Windows Central European (cp1250)",
    "cp1251": "Windows Cyrillic (cp1251)",
    "iso-8859-7": "Greek (ISO-8859-7)",
    "cp1253": "Windows Greek (cp1253)",
    "cp950": "Traditional Chinese (Big5, cp950)",
    "gbk": "Simplified Chinese (GBK)",
    "shift_jis": "Japanese (Shift-JIS)",
    "euc-kr": "Korean (EUC-KR)",
}
# What the ``encoding`` option accepts besides "auto".
CHOICES = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "latin-1",
    "iso-8859-2",
    "iso-8859-15",
    "mac-roman",
    "koi8-r",
    "gb18030",
    "euc-jp",
    "big5",
    *LEGACY,
]
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
SAMPLE_BYTES = 64 * 1024  # of lines holding non-ASCII bytes, for scoring the legacy encodings
# A decoding with more signs of garbling than this share of its non-ASCII bytes (and one) is
# refused.
MOST_NOISE = 0.25
MULTI_BYTE = ("cp950", "shift_jis", "gbk", "euc-kr")
# The letters beyond ASCII of the languages written in Windows Western (cp1252) and Central
# European (cp1250), lower case, from each language's alphabet; German and Albanian are written
# in both.
ALPHABETS = {
    "German": "äöüß",
    "French": "àâæçéèêëîïôœùûüÿ",
    "Spanish": "áéíñóúü",
    "Portuguese": "áâãàçéêíóôõú",
    "Italian": "àèéìíîòóùú",
    "Catalan": "àçèéíïòóúü",
    "Dutch": "áéíóúàèëïöü",
    "Danish and Norwegian": "æøåé",
    "Swedish": "åäöé",
    "Finnish": "åäöšž",
    "Icelandic": "áðéíóúýþæö",
    "Estonian": "äöõüšž",
    "Irish": "áéíóú",
    "Albanian": "çë",
    "Czech": "áčďéěíňóřšťúůýž",
    "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Polish": "ąćęłńóśźż",
    "Hungarian": "áéíóöőúüű",
    "Slovene": "čšž",
    "Croatian": "čćđšž",
    "Romanian": "ăâîşţșț",
}
ALPHABET_SETS = [frozenset(letters) for letters in ALPHABETS.values()]
LATIN_PAGES = ("cp1252", "cp1250")
WORDS = re.compile(r"[^\W\d_]+")
SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "CJK", "HANGUL", "HIRAGANA", "KATAKANA", "HALFWIDTH")


class Choice(NamedTuple):
    """The encoding chosen, and the others that read the file just as cleanly (to say so)."""

    encoding: str
    also: list[str]


def bom_encoding(head: bytes) -> str | None:
    """Return the encoding a byte-order mark at the start names, or None."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return None


def survey(path: Path, on_chunk: Callable[[bytes], None] | None = None) -> tuple[bool, bytes, int]:
    """Read a file once: return whether it is all UTF-8, a sample of its non-UTF-8 lines, and
    its line count (a last line without a newline counts too). ``on_chunk(chunk)`` sees each
    chunk of :data:`binary.CHUNK` bytes in order (progress; a split job's cut scan)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, sample, lines, last = True, bytearray(), 0, b"\n"
    with open(path, "rb") as f:
        for chunk in binary.read_chunks(f):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if on_chunk is not None:
                on_chunk(chunk)
            if chunk.isascii() or len(sample) >= SAMPLE_BYTES:
                continue
            if utf8:
                try:
                    decoder.decode(chunk)
                    continue
                except UnicodeDecodeError:
                    utf8 = False
            sample += non_ascii_lines(chunk, SAMPLE_BYTES - len(sample))
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
            sample += non_ascii_lines(last, SAMPLE_BYTES)
    return utf8, bytes(sample), lines + (last != b"\n")


def non_ascii_lines(chunk: bytes, room: int) -> bytes:
    """Return up to ``room`` bytes of the chunk's lines that hold a non-ASCII byte."""
    picked = bytearray()
    for line in chunk.splitlines(keepends=True):
        if not line.isascii():
            picked += line[: room - len(picked)]
            if len(picked) >= room:
                break
    return bytes(picked)


def choose(sample: bytes) -> Choice:
    """Return the legacy encoding that reads the sample most cleanly, or refuse the file."""
    scored = []
    for encoding in LEGACY:
        try:
            # Incremental: a character cut by the end of the sample is not an error.
            text = codecs.getincrementaldecoder(encoding)().decode(sample)
        except UnicodeDecodeError:
            continue
        scored.append((noise(text), -commonness(text), encoding, text))
    wide = sum(1 for c in sample if c >= 0x80)
    if not scored or min(s[0] for s in scored) > MOST_NOISE * wide + 1:
        raise FormatError(
            "The file is not UTF-8 text, and no common encoding (Windows code pages, ISO-8859, "
            "Big5, GBK, Shift-JIS, EUC-KR) reads it without garbled characters; if you know its "
            "encoding, choose it with the encoding option."
        )
    scored.sort(key=lambda s: s[:2])  # stable: on a tie the more widely used encoding first
    tied = [s for s in scored if s[0] == scored[0][0]]
    if len(tied) > 1 and tied[0][2] in MULTI_BYTE:
        # Chinese, Japanese and Korean read each other's bytes as clean text; which one is
        # meant shows in which characters are common, what charset-normalizer's tables know.
        found = charset_normalizer.from_bytes(
            sample, cp_isolation=[s[2] for s in tied if s[2] in MULTI_BYTE]
        ).best()
        name = found and codecs.lookup(found.encoding).name
        tied.sort(key=lambda s: codecs.lookup(s[2]).name != name)
        scored = tied + scored[len(tied) :]
    tied = [s for s in scored if s[:2] == scored[0][:2]]
    if {s[2] for s in tied} >= set(LATIN_PAGES):
        # Both Latin pages read the bytes cleanly: the language tells them apart.
        fits = {s[2]: misfit(s[3]) for s in tied if s[2] in LATIN_PAGES}
        tied.sort(key=lambda s: fits.get(s[2], fits["cp1252"]))  # stable: cp1252 on a tie
        scored = tied + scored[len(tied) :]
        best = scored[0]
        also = [
            s[2] for s in tied[1:] if s[3] != best[3] and fits.get(s[2]) in (None, fits[best[2]])
        ]
        return Choice(best[2], also)
    best = scored[0]
    also = [s[2] for s in scored[1:] if s[:2] == best[:2] and s[3] != best[3]]
    return Choice(best[2], also)


def misfit(text: str) -> tuple[int, int]:
    """Score how badly a Latin text fits the languages it could be in: lower fits better.

    Returns the words whose letters beyond ASCII no one language's alphabet holds ("Dvoøák":
    ø and á are letters of no one language; "Dvořák" is Czech), then the letters beyond ASCII
    that the one alphabet holding most of the text's letters lacks ("très" read as "trčs" is a
    Czech word, but a text of French words read so mixes Czech, Slovak and Polish letters).
    """
    words = 0
    letters: Counter[str] = Counter()
    found = Counter(w for w in WORDS.findall(text.lower()) if not w.isascii())
    for word, times in found.items():  # each distinct word once
        own = {c for c in word if not c.isascii()}
        for c in own:
            letters[c] += word.count(c) * times
        if not any(own <= alphabet for alphabet in ALPHABET_SETS):
            words += times
    if not letters:
        return words, 0
    covered = max(sum(n for c, n in letters.items() if c in alphabet) for alphabet in ALPHABET_SETS)
    return words, sum(letters.values()) - covered


def noise(text: str) -> float:
    """Score the signs of a wrong decoding in a text: higher means more garbled."""
    score = 0.0
    word: list[str] = []
    padded = f" {text} "
    for i in range(1, len(padded) - 1):
        c = padded[i]
        if c.isalpha():
            previous = padded[i - 1]
            if not c.isascii() and c.isupper() and previous.isalpha() and previous.islower():
                score += 1  # "ÁèÞ": a capital inside a word, after a small letter
            word.append(c)
            continue
        if word:
            score += word_noise(word)
            word = []
        if c.isascii():
            continue
        category = unicodedata.category(c)
        if category in ("Cc", "Cf", "Co", "Cn", "Cs"):
            score += 10  # control characters: C1 codes read as Latin-1, and the like
        elif category[0] in "SN" and (padded[i - 1].isalpha() or padded[i + 1].isalpha()):
            score += 3  # "Ł" read as "£", "ł" as "³": a symbol touching a word
        elif category == "Po" and padded[i - 1].isalpha() and padded[i + 1].isalpha():
            score += 3  # "ż" read as "¿" inside a word
        elif category[0] == "P" and not (padded[i - 1].isascii() and padded[i + 1].isascii()):
            score += 0.5  # "“Œ‹ž": punctuation between non-ASCII letters, Shift-JIS read as cp1252
    return score


def word_noise(word: list[str]) -> float:
    """Score one word: scripts mixed in it, or Latin letters none of which are ASCII."""
    scripts = {script(c) for c in word}
    score = 3.0 * (len(scripts) - 1)
    if scripts == {"LATIN"} and len(word) > 1 and not any(c.isascii() for c in word):
        score += 2  # Latin-script words are mostly ASCII letters: "êáëç" is Greek read wrong
    return score


def script(c: str) -> str:
    """Return the script a letter belongs to (LATIN, GREEK, CYRILLIC, CJK, ...)."""
    if c.isascii():
        return "LATIN"
    name = unicodedata.name(c, "")
    return next((s for s in SCRIPTS if name.startswith(s)), name.split(" ")[0])


def commonness(text: str) -> float:
    """Return how common a text's Greek or Cyrillic letters are, on average (0 to about 0.1).

    Both alphabets decode from the same bytes without a sign of garbling; which one is meant
    shows in the letters: Greek read as Cyrillic gives rare letters (щ, ф, х) in every word.
    """
    letters = [
        unicodedata.normalize("NFD", c)[0] for c in text.lower() if not c.isascii() and c.isalpha()
    ]
    if not letters:
        return 0.0
    return sum(FREQUENCIES.get(c, 0.0) for c in letters) / len(letters)


# Letter frequencies (percent of letters) of running Russian and Greek text.
RUSSIAN = "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъ"
RUSSIAN_PERCENT = (
    *(10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81),
    *(2.62, 2.01, 1.90, 1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48),
    *(0.36, 0.32, 0.26, 0.04),
)
GREEK = "αοιετσνηυρκπμλςωγδθχφβξζψ"
GREEK_PERCENT = (
    *(12.0, 9.8, 8.6, 8.0, 8.0, 5.0, 6.6, 5.0, 4.5, 4.3, 4.0, 3.9, 3.4, 2.8, 2.5, 1.9),
    *(1.7, 1.7, 1.3, 1.2, 0.8, 0.7, 0.5, 0.4, 0.15),
)
FREQUENCIES = {
    c: p / 100 for c, p in zip(RUSSIAN + GREEK, RUSSIAN_PERCENT + GREEK_PERCENT, strict=True)
}


def describe(encoding: str) -> str:
    """Return an encoding's name as a person knows it."""
    return NAMES.get(encoding, encoding)
