"""Data files read where they lie (the equipment classes, the targets, the piece-rate points), not published.

Each is read again only when it changes (its modification time and size), so a page that
consults one costs a `stat`. A file that turns bad keeps what was last read in force (and
says why in the log) rather than failing every page; the validate command names the line to
fix. No file: the empty default.
"""
import logging
from collections.abc import Callable
from pathlib import Path

from engine.errors import Invalid
from workflows import DefinitionError

log = logging.getLogger(__name__)
_read: dict[Path, tuple[tuple[int, int], object]] = {}  # path -> ((mtime, size), what it holds)


def current(path: Path, load: Callable[[Path], object], empty: Callable[[], object], what: str):
    """What `load(path)` gives, loaded once per change of the file; `empty()` while there is no file."""
    try:
        stat = path.stat()
    except OSError:
        return empty()
    mark = (stat.st_mtime_ns, stat.st_size)
    known = _read.get(path)
    if known is not None and known[0] == mark:
        return known[1]
    try:
        loaded = load(path)
    except DefinitionError as exc:
        if known is None:
            raise Invalid("data_file_invalid", file=path.name, problems=[str(p) for p in exc.problems]) from None
        log.error("%s not reloaded; what was read before stays: %s", what, exc)
        return known[1]
    _read[path] = (mark, loaded)
    return loaded
