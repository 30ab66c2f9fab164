"""Photos on the submit form, when the engine can store attachments (engine.attachments).

Until that module exists the photo input is simply not offered.
"""
from starlette.datastructures import UploadFile


def available() -> bool:
    return False


def photo_from(form) -> UploadFile | None:
    return None


def problem(photo, t) -> str | None:
    return None


def attach(session, actor, order, photo, t, request) -> None:
    return None
