"""Scan to report (扫码报修): the URL a printed QR code carries, and the code itself as a PNG.

A code carries a short, stable URL made of what is printed beside it: `/s/a/{asset_no}` on a device,
`/s/l/{code}` in a room. Ids never appear in it, so a label stays right after the register is
exported and imported elsewhere. The base is HOUQIN_PUBLIC_URL (what phones reach), else the base
URL of the request asking for the code.
"""
import io
from urllib.parse import quote

import segno
from fastapi import Request

from engine.settings import Settings

ASSET_PREFIX, LOCATION_PREFIX = "/s/a/", "/s/l/"
PNG_SCALE, PNG_BORDER = 8, 4  # 8 px a module, the 4-module quiet zone scanners need


def base_url(request: Request, settings: Settings) -> str:
    return settings.public_url or str(request.base_url).rstrip("/")


def path_for(kind: str, number: str) -> str:
    """The scan path of a device ("asset", its asset number) or a place ("location", its code)."""
    return (ASSET_PREFIX if kind == "asset" else LOCATION_PREFIX) + quote(number, safe="")


def code(url: str, mask: int | None = None) -> segno.QRCode:
    """A full-size QR code (never a Micro QR, which phone cameras do not read), medium error correction
    so a scuffed label still scans. `mask`: one of the eight valid patterns, instead of scoring all
    eight for the best (four times the work: a sheet of 2,000 labels fixes it)."""
    return segno.make(url, error="m", micro=False, mask=mask)


def png(url: str) -> bytes:
    out = io.BytesIO()
    code(url).save(out, kind="png", scale=PNG_SCALE, border=PNG_BORDER)
    return out.getvalue()
