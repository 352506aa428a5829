"""Each web process's copy of its users' search lines, in columns, to search them in Python.

The search string in Redis only grows (a line is appended once, when a job ends) until it is
compacted or built again, which names a new generation (a random token). So a process keeps,
per user, the lines it has read, split into columns per ended state (names, ids, batch,
creation time, duration, processor), and before each search reads in one transaction only what
was appended since (``GETRANGE`` from the byte it stopped at), the generation and the deleted
ids; a new generation is read whole. Redis is never held longer than those reads; the search
is a scan of short Python strings (``needle in name``, in C per name) over the asked states'
columns.

Why each process keeps a copy, rather than a search served from Redis alone (measured at
100,000 jobs of one user, 9.7 MB of lines; docs/benchmarks.md (h)):

- a scan in Redis (Lua, one ``string.find`` per match) took 0.5 s for a search matching 85 % of
  the jobs, holding Redis, which is single-threaded, for every other user meanwhile; copying the
  string into Lua alone took 30 ms;
- reading the lines for each search instead of keeping them sends 9.7 MB per search and costs
  the web process 13 ms of CPU to receive and decode them, then 66 ms to scan the raw lines in
  Python (77 ms with a regular expression, in C), against 6 ms over the copy's columns for the
  same search (``q=.csv&state=SUCCESS``, 84,946 matches): the target of p99 under 100 ms would
  go to the scan alone, and each search would cost Redis and the network 10 MB;
- an index of substrings in Redis (a set per 3-letter sequence, not built here) answers a rare
  needle from few entries, but a common one (``.csv``: every job) needs intersections of sets as
  large as the list inside Redis, and costs about 13 entries per job (a 15-letter name) of
  Redis memory, shared by all processes but larger than a few processes' copies.

So the copy stays, made small: the names stay strings (the scan is ``needle in name`` over
them), the rest is packed (:class:`Column`), 126 B a job in all where lists of objects took 244
(tracemalloc, 100,000 jobs; at the peak of the first read 16 MB beside the text, 38 MB before,
as the text is now split a megabyte at a time). The web process of the benchmark ends at 155
MB RSS (166 MB with the lists). The deleted jobs not yet compacted out are found by row
once each time they change (a pass over the packed ids), not per match. Each process keeps
``USERS_KEPT`` users' copies.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field

import redis

from tasks.joblist.indexes import STATE_CODE
from tasks.joblist.indexes import key

# Users whose copy a process keeps (the least recently searched is dropped first); a copy
# holds 126 B a job, so 16 copies of 100,000 jobs would be about 200 MB.
USERS_KEPT = 16
# How many of the newest matches of a scan set the bar the rest must pass to make the page.
SAMPLE = 4
# With a duration order, also every n-th hit, so that about this many times ``count`` are sampled.
SPREAD = 40
ID_LEN = 36
# A line's text is split this many characters at a time, so the first read of a large string
# does not hold every line as an object at once.
CHUNK = 1 << 20


@dataclass
class Column:
    """The ended jobs of one state, in the order their lines were appended: the names as
    strings (the scan reads them), the rest packed: the ids in one string (36 characters
    each), the times as C doubles, one byte for batch or not, two for the processor."""

    names: list[str] = field(default_factory=list)
    ids: str = ""
    batch: bytearray = field(default_factory=bytearray)
    created: array = field(default_factory=lambda: array("d"))
    duration: array = field(default_factory=lambda: array("d"))
    processor: array = field(default_factory=lambda: array("H"))
    # The rows of deleted jobs (the copy's ``gone``), found once for the first ``checked`` rows.
    gone: set[int] = field(default_factory=set)
    checked: int = 0

    def id(self, i: int) -> str:
        """Return the id of the column's ``i``-th job."""
        return self.ids[ID_LEN * i : ID_LEN * (i + 1)]


@dataclass
class Copy:
    """One user's search lines as read so far."""

    generation: str | None = None
    offset: int = 0
    columns: dict[str, Column] = field(default_factory=dict)
    gone: frozenset[str] = frozenset()
    # Held while the copy is brought up to date and searched: two requests of one process
    # must not append the same lines twice, nor read columns half appended.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_copies: OrderedDict[str, Copy] = OrderedDict()
_lock = threading.Lock()
# Each processor named in a line has a number, the same in every copy of this process.
_codes: dict[str, int] = {}


def copy_of(owner: str) -> Copy:
    """Return this process's copy of the user's search lines (made empty the first time)."""
    with _lock:
        copy = _copies.pop(owner, None) or Copy()
        _copies[owner] = copy
        while len(_copies) > USERS_KEPT:
            _copies.popitem(last=False)
    return copy


def read(r: redis.Redis, copy: Copy, owner: str) -> Copy:
    """Bring the copy of the user's search lines up to date with Redis, reading only what is
    new; the caller holds ``copy.lock``."""
    names, gen, gone = key(owner, "names"), key(owner, "names-gen"), key(owner, "gone")
    with r.pipeline(transaction=True) as pipe:
        pipe.get(gen)
        pipe.getrange(names, copy.offset, -1)
        pipe.smembers(gone)
        generation, tail, deleted = pipe.execute()
    if generation != copy.generation:
        with r.pipeline(transaction=True) as pipe:
            pipe.get(gen)
            pipe.get(names)
            pipe.smembers(gone)
            generation, tail, deleted = pipe.execute()
        copy.generation, copy.offset, copy.columns = generation, 0, {}
    if isinstance(tail, bytes):
        tail = tail.decode()
    if tail:
        _append(copy, tail)
        copy.offset += len(tail.encode())
    if frozenset(deleted) != copy.gone:
        copy.gone = frozenset(deleted)
        for column in copy.columns.values():
            column.gone, column.checked = set(), 0
    if copy.gone:
        for column in copy.columns.values():
            _find_gone(column, copy.gone)
    return copy


def _find_gone(column: Column, gone: frozenset[str]) -> None:
    """Find which of the column's rows not checked yet are deleted jobs'; a search then
    passes over them by number. Costs a pass over those rows' ids when the deleted jobs
    change (about 10 ms for 100,000), nothing while they stay the same."""
    ids, n, rows = column.ids, ID_LEN, len(column.names)
    column.gone.update(i for i in range(column.checked, rows) if ids[n * i : n * (i + 1)] in gone)
    column.checked = rows


def _append(copy: Copy, text: str) -> None:
    """Split appended lines into the copy's columns, a chunk of lines at a time."""
    columns, codes = copy.columns, _codes
    start = 0
    while start < len(text):
        end = text.find("\n", start + CHUNK)
        end = len(text) if end < 0 else end + 1
        ids: dict[str, list[str]] = {letter: [] for letter in columns}
        for line in text[start:end].splitlines():
            name, _, rest = line.partition("\t")
            letter = rest[37]
            column = columns.get(letter)
            if column is None:
                column, ids[letter] = columns.setdefault(letter, Column()), []
            duration, _, processor = rest[57:].partition(" ")
            code = codes.get(processor)
            column.names.append(name)
            ids[letter].append(rest[:ID_LEN])
            column.batch.append(rest[38] == "B")
            column.created.append(float(rest[39:56]))
            column.duration.append(float(duration))
            column.processor.append(_code(processor) if code is None else code)
        for letter, added in ids.items():
            columns[letter].ids += "".join(added)
        start = end


def _code(processor: str) -> int:
    """Return the number of a processor's name in this process, giving it one the first time."""
    code = _codes.get(processor)
    if code is None:
        with _lock:
            code = _codes.setdefault(processor, len(_codes))
    return code


def search(
    copy: Copy,
    needle: str,
    states: frozenset[str],
    processor: str | None,
    no_batch: bool,
    by_duration: bool,
    desc: bool,
    cursor: tuple[float, str] | None,
    count: int,
) -> tuple[int, list[tuple[float, str]]]:
    """Return how many ended jobs in ``states`` (of ``processor``, in no batch if asked) have
    ``needle`` in their folded name, and the first ``count`` of them after the cursor, as
    (score, id) in order (score: creation time, or duration)."""
    total = 0
    found: list[tuple[float, str]] = []
    for state, letter in STATE_CODE.items():
        column = copy.columns.get(letter)
        if state not in states or column is None:
            continue
        names = column.names
        hits = [i for i, name in enumerate(names) if needle in name]
        if processor is not None:
            wanted, code = column.processor, _codes.get(processor)
            hits = [i for i in hits if wanted[i] == code]
        if no_batch:
            batch = column.batch
            hits = [i for i in hits if not batch[i]]
        if column.gone:
            gone = column.gone
            hits = [i for i in hits if i not in gone]
        total += len(hits)
        found += _first(column, hits, by_duration, desc, cursor, count)
    found.sort(reverse=desc)
    return total, found[:count]


def _first(
    column: Column,
    hits: list[int],
    by_duration: bool,
    desc: bool,
    cursor: tuple[float, str] | None,
    count: int,
) -> list[tuple[float, str]]:
    """Return the first ``count`` (score, id) of a column's hits after the cursor, in order.

    Lines come about in creation order, so the newest hits (the last) set a bar that most
    others fail on a single comparison; only those that pass are sorted. Durations have no
    order: a sample spread over the hits sets their bar."""
    scores, ident = (column.duration if by_duration else column.created), column.id
    if cursor is not None:
        edge = cursor[0]
        if desc:
            hits = [i for i in hits if scores[i] <= edge]
        else:
            hits = [i for i in hits if scores[i] >= edge]
    pick = heapq.nlargest if desc else heapq.nsmallest
    sample = hits[-SAMPLE * count :] if desc else hits[: SAMPLE * count]
    if by_duration:
        # Durations come in no order: a sample spread over every hit sets a tighter bar.
        sample += hits[:: max(1, len(hits) // (SPREAD * count))]
    if len(hits) > len(sample):
        sampled = _after([(scores[i], ident(i)) for i in sample], cursor, desc)
        if len(sampled) >= count:
            # The sample's count-th best: no hit below it can be among the first count.
            bar = pick(count, sampled)[-1][0]
            if desc:
                hits = [i for i in hits if scores[i] >= bar]
            else:
                hits = [i for i in hits if scores[i] <= bar]
    return pick(count, _after([(scores[i], ident(i)) for i in hits], cursor, desc))


def _after(
    entries: list[tuple[float, str]], cursor: tuple[float, str] | None, desc: bool
) -> list[tuple[float, str]]:
    """Return the (score, id) entries that come after the cursor in the list's order."""
    if cursor is None:
        return entries
    return [e for e in entries if (e < cursor if desc else e > cursor)]
