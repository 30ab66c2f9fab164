"""Does a text speak one language? What a Chinese reader would find English in it, and the reverse.

A Chinese text may hold Latin letters that are not English: codes (RP-2026-000031, HTTP, .xlsx),
numbers and units (30 min, 2 h, 5 kg), names (WeCom, Zhang Wei), a field name or a username, a
value in quotes ('urgent', "plumbing").
What it must not hold is an English *sentence*: two or more Latin words in a row of which one is
an ordinary lowercase word ("not found", "Field required"). An English text must hold no Chinese
at all, except the proper names the caller says it may (a department 心内科, a person 张伟).

    latin_sentences("找不到工单 RP-2026-000031") == []
    latin_sentences("工单 work order not found") == ["work order not found"]
    chinese_in("Work order 心内科-12 not found", names=["心内科"]) == []
"""
import re
from collections.abc import Iterable
from contextlib import contextmanager

import pytest

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
# A Latin word: letters with inner apostrophes or hyphens ("don't", "re-inspect"); anything holding a
# digit, a dot, an underscore or a slash is a code (RP-2026-000031, v2, .xlsx, field_required, kg/h).
_TOKEN = re.compile(r"[A-Za-z0-9_#@+]+(?:['./:-][A-Za-z0-9_#@+]+)*")
# Between two words of one sentence: spaces and the punctuation a sentence runs on with.
_JOINER = re.compile(r"[\s,;'\"()]*")
_QUOTED = re.compile(r"'[^'\s]+'|\"[^\"\s]+\"|`[^`]+`")  # a value the reader would type as it is
UNITS = frozenset({"h", "min", "s", "ms", "d", "kg", "g", "m", "km", "cm", "mm", "l", "ml", "kb", "mb", "gb", "x"})


def _is_word(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]+(?:['-][A-Za-z]+)*", token))


def _is_english(token: str) -> bool:
    """An ordinary English word: lowercase letters, or a sentence's capital first letter and then lowercase."""
    return (_is_word(token) and token.lower() not in UNITS and len(token) > 1
            and (token.islower() or (token[0].isupper() and token[1:].islower() and len(token) > 2)))


def latin_sentences(text: str, names: Iterable[str] = ()) -> list[str]:
    """The English sentences in a Chinese text: runs of two or more Latin words with an ordinary word among them.

    `names` (people, places, processes the reader named in Latin letters) are taken out first.
    """
    text = _QUOTED.sub(" ", _without(text, names))
    found, run, end = [], [], None
    for match in _TOKEN.finditer(text):
        token = match.group()
        joined = end is not None and _JOINER.fullmatch(text[end:match.start()])
        if not (_is_word(token) and joined):
            _close(run, found)
            run = []
        if _is_word(token):
            run.append(token)
        end = match.end()
    _close(run, found)
    return found


def _close(run: list[str], found: list[str]) -> None:
    words = [w for w in run if _is_english(w)]
    # "Zhang Wei", "WeCom DingTalk" are names, http(s) a code; "Not found" is two ordinary words, one lowercase.
    if len(words) >= 2 and any(w.islower() for w in words):
        found.append(" ".join(run))


def chinese_in(text: str, names: Iterable[str] = ()) -> list[str]:
    """The Chinese characters (and full-width punctuation) in an English text, other than `names`."""
    return _HAN.findall(_without(text, names))


def foreign(text: str, language: str, names: Iterable[str] = ()) -> list[str]:
    """What in `text` is not in `language` ("zh" or "en"): English sentences in Chinese, Chinese in English."""
    return latin_sentences(text, names) if language == "zh" else chinese_in(text, names)


def strings_in(value) -> list[str]:
    """Every string in a JSON answer (its keys excepted): detail, each field error's message, nested values."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings_in(item)]
    return []


def assert_speaks(value, language: str, names: Iterable[str] = ()) -> None:
    """Fail, quoting the offending words, if any string in `value` (text or JSON) is not in `language`."""
    names = list(names)
    problems = {s: foreign(s, language, names) for s in strings_in(value)}
    problems = {s: found for s, found in problems.items() if found}
    assert not problems, f"not {language}: {problems}"


def _without(text: str, names: Iterable[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    return text


def english(refusal) -> str:
    """What the English API says for a refusal: an engine error or a refusal of the compiled process (a code
    and params), a field's FieldProblem, one problem ({field, code, params}), or a message of the engine's
    ({code, params}, engine/notify/messages.py)."""
    from web.i18n import DEFAULT, has, message_text, problem_text, refusal_text

    if isinstance(refusal, dict) and has(DEFAULT, f"messages.{refusal.get('code')}"):
        return message_text("en", refusal)
    if isinstance(refusal, dict):
        return problem_text("en", refusal)
    if hasattr(refusal, "field"):  # workflows.fields.FieldProblem
        return problem_text("en", {"code": refusal.code, "params": {"field": refusal.field, **refusal.params}})
    return refusal_text("en", refusal.code, refusal.params, getattr(refusal, "errors", None))


@contextmanager
def raises_saying(kind, pattern: str):
    """pytest.raises(kind, match=pattern), the pattern searched in what the English API says for the refusal."""
    with pytest.raises(kind) as caught:
        yield caught
    said = english(caught.value)
    assert re.search(pattern, said), f"{pattern!r} not in {said!r}"
