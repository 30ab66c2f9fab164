"""Charts drawn on the server as SVG geometry: no chart library to vendor, nothing to run in the browser.

Each function turns figures into coordinates in a fixed viewBox; the template
draws them, and the SVG scales to the width of a phone or a desktop.
"""
from dataclasses import dataclass

WIDTH, ROW, BAR_HEIGHT = 600, 28, 18
LABEL_WIDTH = 180


@dataclass
class Bar:
    label: str
    value: float
    y: float
    width: float
    text: str


@dataclass
class BarChart:
    bars: list[Bar]
    height: float
    label_width: float = LABEL_WIDTH
    width: float = WIDTH


def bars(items: list[tuple[str, float]], *, unit: str = "", keep_order: bool = False) -> BarChart:
    """Horizontal bars, longest first (or in the given order), scaled to the largest value."""
    if not keep_order:
        items = sorted(items, key=lambda item: -item[1])
    top = max((value for _, value in items), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 60
    out = [Bar(label=label, value=value, y=index * ROW + 4, width=max(1.0, room * value / top),
               text=f"{value:g}{unit}") for index, (label, value) in enumerate(items)]
    return BarChart(bars=out, height=max(ROW, len(out) * ROW + 8))


@dataclass
class Point:
    x: float
    y: float
    value: float | None
    text: str


@dataclass
class Series:
    name: str
    css: str
    points: list[Point]

    @property
    def path(self) -> str:
        """Polyline through the months that have a figure (a month without one leaves a gap)."""
        runs, current = [], []
        for point in self.points:
            if point.value is None:
                if current:
                    runs.append(current)
                current = []
            else:
                current.append(f"{point.x:.1f},{point.y:.1f}")
        if current:
            runs.append(current)
        return " ".join("M" + " L".join(run) for run in runs)


@dataclass
class LineChart:
    labels: list[tuple[float, str]]
    series: list[Series]
    grid: list[tuple[float, str]]
    width: float = WIDTH
    height: float = 220
    left: float = 44
    bottom: float = 190


def percent_lines(months: list[str], series: dict[str, tuple[str, list[float | None]]]) -> LineChart:
    """Rates (0..1) month by month on a 0-100 % scale; `series`: name → (css class, values)."""
    chart = LineChart(labels=[], series=[], grid=[])
    top, span = 16.0, chart.bottom - 16.0
    step = (chart.width - chart.left - 40) / max(1, len(months) - 1)
    chart.labels = [(chart.left + index * step, month) for index, month in enumerate(months)]
    chart.grid = [(top + span * (1 - level / 100), f"{level}%") for level in (0, 25, 50, 75, 100)]
    for name, (css, values) in series.items():
        points = []
        for index, value in enumerate(values):
            y = top + span * (1 - value) if value is not None else chart.bottom
            points.append(Point(x=chart.left + index * step, y=y, value=value,
                                text="" if value is None else f"{value * 100:.1f}%"))
        chart.series.append(Series(name=name, css=css, points=points))
    return chart
