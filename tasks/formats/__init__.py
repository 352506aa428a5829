"""Reading the files people send, knowing nothing of Celery or Redis: chunks and sniffing
(:mod:`.binary`), zip archives (:mod:`.archives`), CSV dialects (:mod:`.csvformat`), records
(:mod:`.csvio`), cells (:mod:`.csvtypes`) and bounded-memory counts (:mod:`.sketches`)."""


class FormatError(Exception):
    """A file that cannot be read as what it claims to be; the message is for a person."""
