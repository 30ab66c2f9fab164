"""One translation catalogue for every visible string: Chinese first, English second.

The catalogues are nested JSON (`web/locales/zh.json`, `en.json`), read once and
flattened to dotted keys (`nav.submit`). A key missing from a language falls back
to Chinese, then to the key itself, so a forgotten string shows up in review
instead of breaking a page; a test checks both files carry the same keys.
"""
import json
from functools import cache
from pathlib import Path

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
_LOCALES = Path(__file__).parent / "locales"


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@cache
def catalogue(language: str) -> dict[str, str]:
    return _flatten(json.loads((_LOCALES / f"{language}.json").read_text(encoding="utf-8")))


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def translate(language: str, key: str, /, **values) -> str:
    text = catalogue(language_of(language)).get(key) or catalogue(DEFAULT).get(key) or key
    return text.format(**values) if values else text


def has(language: str, key: str) -> bool:
    return key in catalogue(language_of(language))


def label(value, language: str) -> str:
    """A definition's `{zh, en}` label (pydantic Label or plain dict) in `language`."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return value.get(language) or value.get(DEFAULT) or ""
    return getattr(value, language_of(language), None) or getattr(value, DEFAULT)


def choice(value, language: str) -> str:
    """A choice value such as `plumbing`, as a person reads it; unknown values show as written."""
    key = f"choice.{value}"
    return translate(language, key) if has(DEFAULT, key) else str(value)


class Translator:
    """Bound to one language, for templates: `t("nav.submit")`, `t.label(state.label)`."""

    def __init__(self, language: str):
        self.language = language_of(language)

    def __call__(self, key: str, /, **values) -> str:
        return translate(self.language, key, **values)

    def label(self, value) -> str:
        return label(value, self.language)

    def choice(self, value, field=None) -> str:
        """A choice as its definition labels it (the value itself may carry its label, else the field's
        `field.choice_label`), or as the catalogue does for a choice the definition leaves unlabelled."""
        given = getattr(value, "label", None) or (field.choice_label(value) if field is not None else None)
        return self.label(given) if given else choice(value, self.language)
