"""A printable A4 sheet of QR labels (扫码报修标签), as a PDF drawn with reportlab.

24 labels a page (3 columns, 8 rows of 63 x 34 mm, with light cut lines, so plain paper works as
well as sticker sheets). Each label: the QR code on the left, drawn as vector squares so it stays
sharp at any printer resolution; on the right "扫码报修", the name, the number and the place.
Chinese is set in reportlab's built-in CID font STSong-Light: no font file to ship.
"""
import io
from collections.abc import Iterable
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from engine.places.labels import Label
from web import scan

CHINESE, LATIN = "STSong-Light", "Helvetica-Bold"
COLUMNS, ROWS = 3, 8
WIDTH, HEIGHT = 63 * mm, 34 * mm
PAD, QR_SIZE = 2 * mm, 30 * mm
LEFT = (A4[0] - COLUMNS * WIDTH) / 2
TOP = A4[1] - (A4[1] - ROWS * HEIGHT) / 2
CAPTION = "扫码报修"
SHEET_MASK = 2  # see scan.code

pdfmetrics.registerFont(UnicodeCIDFont(CHINESE))


@dataclass(frozen=True)
class Placed:
    page: int   # from 0
    x: float    # the label's lower left corner, in points
    y: float
    label: Label
    url: str


def layout(labels: Iterable[Label], base_url: str) -> list[Placed]:
    """Where each label goes: across, then down, then the next page."""
    per_page = COLUMNS * ROWS
    placed = []
    for index, label in enumerate(labels):
        page, slot = divmod(index, per_page)
        row, column = divmod(slot, COLUMNS)
        placed.append(Placed(page, LEFT + column * WIDTH, TOP - (row + 1) * HEIGHT, label,
                             base_url + scan.path_for(label.kind, label.number)))
    return placed


def pdf(labels: Iterable[Label], base_url: str, title: str = "扫码报修标签") -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("Houqin")
    page = 0
    for placed in layout(labels, base_url):
        if placed.page != page:
            canvas.showPage()
            page = placed.page
        _draw(canvas, placed)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw(canvas: Canvas, placed: Placed) -> None:
    x, y, label = placed.x, placed.y, placed.label
    canvas.setStrokeGray(0.8)
    canvas.setLineWidth(0.3)
    canvas.setDash(2, 2)
    canvas.rect(x, y, WIDTH, HEIGHT)  # the cut line
    _qr(canvas, placed.url, x + PAD, y + (HEIGHT - QR_SIZE) / 2, QR_SIZE)
    left = x + PAD + QR_SIZE + PAD
    width = x + WIDTH - PAD - left
    line = y + HEIGHT - PAD - 7
    line = _lines(canvas, [CAPTION], CHINESE, 7, left, line, gray=0.35)
    line = _lines(canvas, _wrap(label.name, CHINESE, 9, width, 2), CHINESE, 9, left, line - 1)
    number_font = LATIN if label.number.isascii() else CHINESE
    line = _lines(canvas, _wrap(label.number, number_font, 9, width, 1), number_font, 9, left, line - 1)
    _lines(canvas, _wrap(label.place, CHINESE, 6.5, width, 3), CHINESE, 6.5, left, line - 1, gray=0.25)


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The code's dark modules as one filled path: a rectangle for each run along a row, in module
    units under a transform (written as PDF operators directly: 2,000 codes of ~300 runs each)."""
    matrix = scan.code(url, mask=SHEET_MASK).matrix
    border = 2  # modules of quiet zone inside the square (the label's padding adds to it)
    count = len(matrix)
    module = size / (count + 2 * border)
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < count:
            if row[c]:
                start = c
                while c < count and row[c]:
                    c += 1
                runs.append(f"{start} {count - 1 - r} {c - start} 1 re")
            else:
                c += 1
    canvas.saveState()
    canvas.transform(module, 0, 0, module, x + border * module, y + border * module)
    canvas.setFillGray(0)
    canvas.addLiteral("\n".join(runs) + "\nf")
    canvas.restoreState()


def _lines(canvas: Canvas, lines: list[str], font: str, size: float, x: float, y: float, gray: float = 0) -> float:
    """Writes `lines` downwards from `y` (the first baseline); returns the baseline after them."""
    canvas.setFillGray(gray)
    canvas.setFont(font, size)
    for text in lines:
        canvas.drawString(x, y, text)
        y -= size * 1.25
    return y


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Broken by character (Chinese has no spaces), at most `max_lines`, the last one cut with "…"."""
    lines, current = [], ""
    for char in text:
        if pdfmetrics.stringWidth(current + char, font, size) > width and current:
            lines.append(current)
            current = char.lstrip()
        else:
            current += char
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and pdfmetrics.stringWidth(last + "…", font, size) > width:
            last = last[:-1]
        lines = lines[:max_lines - 1] + [last + "…"]
    return lines
