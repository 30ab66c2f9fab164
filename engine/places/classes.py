"""The device classes in force: the equipment file ($HOUQIN_EQUIPMENT, else definitions/equipment.yaml).

Read again only when the file changes (engine.published.data_files); `houqin equipment check`
names the line to fix. No file: no classes.
"""
from pathlib import Path

from engine import settings
from engine.errors import Invalid
from engine.published import data_files
from workflows.equipment import Equipment, load_file


def equipment_path() -> Path:
    return settings.current().equipment_path


def current() -> Equipment:
    """The classes of the equipment file, loaded once per change of the file."""
    return data_files.current(equipment_path(), load_file, Equipment, "equipment")


def known_values() -> set[str] | None:
    """The class values other files may name (a schedule's `assets.class`); None, so nothing is checked
    against them, while no valid equipment file is read."""
    try:
        equipment = current()
    except Invalid:
        return None
    return {item.value for item in equipment.classes} or None
