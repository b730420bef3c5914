"""Charts of the receivables reports: aging bars, DSO trend, rollforward waterfall.

Drawn with matplotlib on its Agg canvas, never through pyplot, so nothing global is touched and
no window is ever opened. The file format follows the suffix of the path (``.png`` or
``.svg``). The output is deterministic: SVG files carry no date and use a fixed id salt, and
text is drawn as paths with matplotlib's bundled fonts, so the same data gives the same bytes.

Amounts are Decimals everywhere else; they become floats here, for drawing only.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from billfold.errors import InvalidInput
from billfold.reports.aging import AgingReport
from billfold.reports.kpis import DsoPoint, Rollforward

FORMATS: Final = {".png": "png", ".svg": "svg"}
ACCENT: Final = "#1d4e89"
UP: Final = "#2e7d32"
DOWN: Final = "#c62828"
PALETTE: Final = (
    "#1d4e89",
    "#4f86c6",
    "#f2a541",
    "#7fb069",
    "#d1495b",
    "#8e6c8a",
    "#66a5ad",
    "#b5b5b5",
)
TOP_GROUPS: Final = 7  # larger groups get their own colour, the rest is "other"
_RC: Final[dict[Any, Any]] = {
    "svg.hashsalt": "billfold",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def chart_format(path: Path) -> str:
    """``png`` or ``svg`` from the file suffix; anything else is refused."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"chart {path}: the file must end in .png or .svg")
    return fmt


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes, without timestamps."""
    if fmt not in FORMATS.values():
        raise InvalidInput(f"chart format {fmt!r}: expected png or svg")
    FigureCanvasAgg(fig)
    metadata: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": "Billfold"}
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format=fmt, metadata=metadata, dpi=120)
    return buf.getvalue()


def save(fig: Figure, path: Path) -> Path:
    """Write the figure to ``path`` in the format its suffix names (folders are made)."""
    data = render(fig, chart_format(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None
    return path


Inches = float  # figure sizes  # float-ok


def _figure(rows: int = 1, width: Inches = 8.0, height: Inches = 4.5) -> tuple[Figure, list[Axes]]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height * rows), layout="constrained")
        axes = [fig.add_subplot(rows, 1, n + 1) for n in range(rows)]
    return fig, axes


def _f(value: Decimal) -> float:  # float-ok: not money
    return float(value)  # float-ok: not money


# --- aging -------------------------------------------------------------------------------------


def aging_figure(report: AgingReport, *, functional: bool = True) -> Figure:
    """One bar per bucket. ``functional``: one panel per functional currency, the bars
    stacked by transaction currency (each row's buckets converted at its invoice-date rates:
    exact for rows in the functional currency). Otherwise one panel per transaction
    currency, stacked by the report's groups (customers, entities), the largest apart."""
    panels: dict[str, dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0)] * len(report.labels))
    )
    for r in report.rows:
        if functional:
            panel, stack = r.functional_currency, r.currency
            factor = r.functional_total / r.total if r.total else Decimal(0)
        else:
            panel, stack, factor = r.currency, r.key, Decimal(1)
        acc = panels[panel][stack]
        for i, amount in enumerate(r.buckets):
            acc[i] += amount * factor
    if not panels:
        panels["-"]["-"] = [Decimal(0)] * len(report.labels)
    fig, axes = _figure(len(panels))
    for ax, (currency, stacks) in zip(axes, sorted(panels.items()), strict=True):
        ranked = sorted(stacks.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
        if len(ranked) > TOP_GROUPS + 1:
            rest = [
                sum(col, Decimal(0))
                for col in zip(*(v for _, v in ranked[TOP_GROUPS:]), strict=True)
            ]
            ranked = [*ranked[:TOP_GROUPS], ("other", rest)]
        bottom = [0.0] * len(report.labels)
        for n, (name, values) in enumerate(ranked):
            heights = [_f(v) for v in values]
            ax.bar(
                report.labels,
                heights,
                bottom=bottom,
                label=name,
                color=PALETTE[n % len(PALETTE)],
                width=0.65,
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        for x, total in enumerate(bottom):
            ax.annotate(f"{total:,.0f}", (x, total), ha="center", va="bottom", fontsize=8)
        basis = "days past due" if report.basis == "due" else "days since invoice"
        what = "functional currency" if functional else "transaction currency"
        ax.set_title(f"Aging as of {report.as_of} ({basis}), {currency}, {what}")
        ax.set_ylabel(currency)
        ax.yaxis.set_major_formatter("{x:,.0f}")
        if len(ranked) > 1:
            ax.legend(fontsize=8, frameon=False)
    return fig


def aging_chart(report: AgingReport, path: Path, *, functional: bool = True) -> Path:
    """Write ``aging_figure`` to ``path`` (.png or .svg)."""
    chart_format(path)
    return save(aging_figure(report, functional=functional), path)


# --- DSO trend ---------------------------------------------------------------------------------


def dso_trend_figure(points: Sequence[DsoPoint], title: str = "DSO trend") -> Figure:
    """DSO standard, countback and best possible DSO per month (gaps where undefined)."""
    fig, (ax,) = _figure()
    labels = [p.period for p in points]
    series = (
        ("DSO (standard)", [p.dso_standard for p in points], "-", ACCENT),
        ("DSO (countback)", [p.dso_countback for p in points], "--", PALETTE[2]),
        ("Best possible DSO", [p.best_possible_dso for p in points], ":", UP),
    )
    for name, values, style, color in series:
        ys = [float("nan") if v is None else _f(v) for v in values]  # float-ok: not money
        ax.plot(labels, ys, style, marker="o", label=name, color=color)
        for x, v in enumerate(values):
            if v is not None:
                ax.annotate(
                    f"{v}",
                    (x, _f(v)),
                    textcoords="offset points",
                    xytext=(0, 5),
                    ha="center",
                    fontsize=7,
                    color=color,
                )
    ax.set_title(title)
    ax.set_ylabel("days")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False)
    return fig


def dso_trend_chart(points: Sequence[DsoPoint], path: Path, title: str = "DSO trend") -> Path:
    """Write ``dso_trend_figure`` to ``path`` (.png or .svg)."""
    chart_format(path)
    return save(dso_trend_figure(points, title), path)


# --- rollforward waterfall ---------------------------------------------------------------------


def rollforward_figure(rf: Rollforward) -> Figure:
    """Opening balance, each movement floating from the running balance, closing balance."""
    fig, (ax,) = _figure()
    labels = ["opening"]
    bottoms = [0.0]
    heights = [_f(rf.opening)]
    colors = [ACCENT]
    level = rf.opening
    for name, amount in rf.steps():
        labels.append(name)
        bottoms.append(_f(min(level, level + amount)))
        heights.append(_f(abs(amount)))
        colors.append(UP if amount >= 0 else DOWN)
        level += amount
    labels.append("closing")
    bottoms.append(0.0)
    heights.append(_f(rf.closing))
    colors.append(ACCENT)
    ax.bar(labels, heights, bottom=bottoms, color=colors, width=0.6)
    values = [rf.opening, *(a for _, a in rf.steps()), rf.closing]
    for x, (b, h, v) in enumerate(zip(bottoms, heights, values, strict=True)):
        ax.annotate(f"{v:,}", (x, b + h), ha="center", va="bottom", fontsize=8)
    ax.set_title(f"AR rollforward {rf.entity}, {rf.start} to {rf.end} ({rf.currency})")
    ax.set_ylabel(rf.currency)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    return fig


def rollforward_chart(rf: Rollforward, path: Path) -> Path:
    """Write ``rollforward_figure`` to ``path`` (.png or .svg)."""
    chart_format(path)
    return save(rollforward_figure(rf), path)
