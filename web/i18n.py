"""One translation catalogue for every visible string: Chinese first, English second.

The catalogues are nested JSON (`web/locales/zh.json`, `en.json`), read once and
flattened to dotted keys (`nav.submit`). A key missing from a language falls back
to Chinese, then to the key itself, so a forgotten string shows up in review
instead of breaking a page; a test checks both files carry the same keys.
"""
import json
import string
from contextvars import ContextVar
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
    language = language_of(language)
    text = catalogue(language).get(key) or catalogue(DEFAULT).get(key) or key
    return _Formatter(language).vformat(text, (), values) if values else text


class _Formatter(string.Formatter):
    """str.format that says a value in the reader's language: a definition's `{zh, en}` label in theirs, a list
    joined as their language joins one (an empty one: "none"), and with `:@prefix` each item as the catalogue
    names `prefix.item` (`{roles:@role}` → 调度员、后勤主管)."""

    def __init__(self, language: str):
        self.language = language

    def format_field(self, value, spec: str):
        if isinstance(value, list | tuple | set | frozenset):
            items = [self.format_field(item, spec) for item in value]
            return _joined(items, self.language) if items else translate(self.language, "errors.none")
        if isinstance(value, dict) and DEFAULT in value:
            return label(value, self.language)
        if spec.startswith("@"):  # a catalogue name per prefix, the first that has one: "@who|role"
            key = next((f"{prefix}.{value}" for prefix in spec[1:].split("|") if has(DEFAULT, f"{prefix}.{value}")), None)
            return translate(self.language, key) if key else str(value)
        return super().format_field(value, spec)


def error_text(language: str, code: str, params: dict | None = None) -> str:
    """An error's code said in `language` (the catalogue's `errors.<code>` filled with `params`). A code with no
    text is shown as it is: a sentence raised in the older form reads as it always did."""
    key = next((k for k in (f"errors.{code}", f"errors.input.{code}") if has(DEFAULT, k)), None)
    if key is None:
        return code
    try:
        return translate(language, key, **(params or {}))
    except (KeyError, IndexError, ValueError):  # a text naming a param its raiser did not give: the bare text
        return catalogue(language_of(language)).get(key) or code


def problem_text(language: str, problem: dict, field: str | None = None) -> str:
    """One problem ({field, code, params}) in `language`; `field` names the field as the reader knows it (a page's
    label), else as the API names it (`fields.` left off). The problem's other keys (`value`, a sheet's `row`…)
    are params too, and a problem of a row says its row first. A problem that carries its `message` already
    (said in the reader's language, or an older problem's English) is that message."""
    code = problem.get("code")
    name = field if field is not None else str(problem.get("field", "")).removeprefix("fields.")
    if problem.get("message") is not None:
        text = str(problem["message"])
    elif code is not None and any(has(DEFAULT, k) for k in (f"errors.{code}", f"errors.input.{code}")):
        given = {key: value for key, value in problem.items() if key not in ("field", "code", "params", "message")}
        text = error_text(language, code, {**given, "field": name, **problem.get("params", {})})
    else:
        text = error_text(language, "input.invalid", {"field": name})
    return translate(language, "errors.in_row", row=problem["row"], problem=text) if "row" in problem else text


def refusal_text(language: str, code: str, params: dict | None = None, problems: list[dict] | None = None,
                 shown: int = 10) -> str:
    """A whole refusal in `language`: its code's text, then the first `shown` of its problems; only the problems
    when they say it all (`fields_invalid`, or each problem is the refusal itself)."""
    if not problems:
        return error_text(language, code, params)
    texts = [problem_text(language, problem) for problem in problems[:shown]]
    if len(problems) > shown:
        texts.append(translate(language, "errors.and_more", n=len(problems) - shown))
    if code != "fields_invalid" and any(problem.get("code") != code for problem in problems):
        texts.insert(0, error_text(language, code, params))
    return (" " if language == "zh" else "; ").join(texts)  # a Chinese sentence ends with its own 。


def said(language: str, exc) -> str:
    """An engine error (engine.errors.HouqinError) in `language`, as a page shows it."""
    return refusal_text(language, exc.code, exc.params, getattr(exc, "errors", None))


def message_text(language: str, message: dict | None, text: str = "") -> str:
    """What the engine said (a {code, params} message, engine/notify/messages.py) in `language`, then what a person
    wrote beside it (`text`: an urge's note, a reason). No message (a row from before): the text it holds."""
    if not message:
        return text or ""
    key = f"messages.{message.get('code')}"
    try:
        said = translate(language, key, **(message.get("params") or {})) if has(DEFAULT, key) else str(message.get("code"))
    except (KeyError, IndexError, ValueError):
        said = catalogue(language_of(language)).get(key) or str(message.get("code"))
    return f"{said}{'：' if language == 'zh' else ': '}{text}" if text else said


_reading: ContextVar[str] = ContextVar("houqin_reading", default=DEFAULT)


def reading() -> str:
    """The language the API caller reads (their Accept-Language, set per request by web.errors.ReaderLanguage)."""
    return _reading.get()


def read_in(language: str):
    """Set the language of this request's API answers; returns the token `stop_reading` takes."""
    return _reading.set(language_of(language))


def stop_reading(token) -> None:
    _reading.reset(token)


def _joined(items: list[str], language: str) -> str:
    return ("、" if language == "zh" else ", ").join(items)


def accepted(header: str | None) -> str:
    """The language an Accept-Language header prefers among ours, its q-values honoured; Chinese when it names
    none of ours (or is absent). `en-GB;q=0.8, zh-CN` → zh; `en-US,en;q=0.9` → en; `fr` → zh."""
    best, best_q = DEFAULT, 0.0
    for position, part in enumerate((header or "").split(",")):
        tag, _, weight = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        try:
            q = float(weight.strip().removeprefix("q=")) if weight.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if language in LANGUAGES and q > best_q:  # the first of equal weight wins
            best, best_q = language, q
    return best


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

    def kind(self, kind: str) -> str:
        """A notification's kind (派单, 升级督办…) as a list or a group chat names it."""
        key = "health.notification_kind" if kind == "repeat_fault" else f"notifications.kind.{kind}"
        return self(key) if has(DEFAULT, key) else kind

    def message(self, message: dict | None, text: str = "") -> str:
        """A notice or timeline entry: the engine's message in this language, then the person's words."""
        return message_text(self.language, message, text)

    def choice(self, value, field=None) -> str:
        """A choice as its definition labels it (the value itself may carry its label, else the field's
        `field.choice_label`), or as the catalogue does for a choice the definition leaves unlabelled."""
        given = getattr(value, "label", None) or (field.choice_label(value) if field is not None else None)
        return self.label(given) if given else choice(value, self.language)
