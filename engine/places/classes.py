"""The device classes in force: the equipment file ($HOUQIN_EQUIPMENT, else definitions/equipment.yaml).

Read again only when the file changes (its modification time and size), so a
list of a thousand devices costs one `stat`. A file that turns bad keeps the
classes last read in force (and says why in the log) rather than failing every
page; `houqin equipment check` names the line to fix. No file: no classes.
"""
import logging
from pathlib import Path

from engine import settings
from engine.errors import Invalid
from workflows import DefinitionError
from workflows.equipment import Equipment, load_file

log = logging.getLogger(__name__)
_read: dict[Path, tuple[tuple[int, int], Equipment]] = {}  # path -> ((mtime, size), classes)


def equipment_path() -> Path:
    return settings.current().equipment_path


def current() -> Equipment:
    """The classes of the equipment file, loaded once per change of the file."""
    path = equipment_path()
    try:
        stat = path.stat()
    except OSError:
        return Equipment()
    mark = (stat.st_mtime_ns, stat.st_size)
    known = _read.get(path)
    if known is not None and known[0] == mark:
        return known[1]
    try:
        equipment = load_file(path)
    except DefinitionError as exc:
        if known is None:
            raise Invalid(f"the equipment file is not valid: {exc}") from None
        log.error("equipment classes not reloaded; the ones read before stay: %s", exc)
        return known[1]
    _read[path] = (mark, equipment)
    return equipment


def known_values() -> set[str] | None:
    """The class values other files may name (a schedule's `assets.class`); None, so nothing is checked
    against them, while no valid equipment file is read."""
    try:
        equipment = current()
    except Invalid:
        return None
    return {item.value for item in equipment.classes} or None
