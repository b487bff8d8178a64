"""H6: the annual 《医疗服务与质量安全报告》 of a specialty, rendered from the indicator analysis.

Reproducible by construction: the HTML is a pure function of the analysis and the report's heading
(no dates, no random ids — matplotlib's SVG ids come from a fixed hash salt and its metadata carries
no date), so the same input gives byte-identical HTML, and the PDF made from it the same numbers.
"""
from __future__ import annotations

import base64
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "report_templates"
FONT_FAMILY = "Noto Sans CJK SC"  # fonts-noto-cjk (scripts/browser-deps.sh); Chinese renders as boxes without it
SVG_HASH_SALT = "qcflow-annual-report"
# The by-institution table is long (hundreds of rows per indicator): shown in full up to this many rows,
# beyond it the best and the worst of them with a count of those left out.
INSTITUTION_ROWS_IN_FULL = 60
INSTITUTION_ROWS_EACH_END = 20
# The shortfalls section names each indicator's flagged cities and its worst institutions, not every
# flag: those are in the guidance tasks (H3), one per flag, with their numbers.
FLAGGED_INSTITUTIONS_NAMED = 5

_RC = {
    "svg.hashsalt": SVG_HASH_SALT,
    "svg.fonttype": "none",  # text stays text, set in the CJK font when the chart is drawn
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY, "DejaVu Sans"],
    "axes.unicode_minus": False,
    "font.size": 9,
}
_BAR, _PROVINCE, _NATIONAL, _TARGET = "#4a7ab5", "#2e7d32", "#c62828", "#ef6c00"


@dataclass(frozen=True)
class ReportHeading:
    """What the report says about itself besides the numbers."""

    specialty: str
    year: int
    title: str = ""
    center_name: str = ""
    region: str = "全市"
    version: int = 0  # 0: a draft

    @property
    def full_title(self) -> str:
        return self.title or f"{self.year}年度{self.specialty}专业医疗服务与质量安全报告"


def indicators_of(analysis: Any) -> list[dict[str, Any]]:
    """The per-indicator results, whether the analysis is a list or {"indicators": [...]}."""
    if isinstance(analysis, dict):
        return list(analysis.get("indicators") or [])
    return list(analysis or [])


# --- numbers as the report prints them --------------------------------------------------------------

def _finite(value: Any) -> Optional[float]:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_rate(value: Any, unit: str = "%") -> str:
    number = _finite(value)
    return "无数据" if number is None else f"{number:.2f}{unit}"


def fmt_count(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return "—"
    return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"


def fmt_change(value: Any, unit: str = "%") -> str:
    number = _finite(value)
    if number is None:
        return "—"
    return f"{'+' if number > 0 else ''}{number:.2f}{'个百分点' if unit == '%' else unit}"


def verdict(rate: Any, benchmark: Any, direction: str) -> str:
    """达到 / 未达到 a benchmark, in the indicator's direction; empty when either is unknown."""
    r, b = _finite(rate), _finite(benchmark)
    if r is None or b is None:
        return ""
    return "达到" if (r >= b if direction == "higher" else r <= b) else "未达到"


# --- charts (matplotlib, SVG) ------------------------------------------------------------------------

def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    # An <img> data URI, not inline <svg>: the PDF renderer then draws each chart as one image instead of
    # running its CSS cascade over thousands of SVG elements (a quarter of the PDF's time at full size).
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode()).decode()


def _benchmark_lines(ax: Any, indicator: dict[str, Any]) -> None:
    for key, label, color, style in (("province_mean", "全省均值", _PROVINCE, "--"),
                                     ("national_mean", "全国均值", _NATIONAL, ":"),
                                     ("target", "目标值", _TARGET, "-.")):
        value = _finite(indicator.get(key))
        if value is not None:
            ax.axhline(value, color=color, linestyle=style, linewidth=1.2, label=f"{label} {value:.2f}")


# matplotlib is imported when a chart is drawn: it costs about half a second, which a CLI start that
# renders nothing should not pay.
def bar_chart(indicator: dict[str, Any], rows: list[dict[str, Any]], label_key: str, overall_label: str) -> str:
    """Bars of each group's rate (no-data groups left empty) against the means and the target."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        labels = [overall_label] + [str(r.get(label_key) or "") for r in rows]
        values = [_finite(indicator.get("overall_rate", indicator.get("rate")))] + [_finite(r.get("rate")) for r in rows]
        figure = Figure(figsize=(7.0, 2.9))
        ax = figure.subplots()
        positions = list(range(len(labels)))
        heights = [v if v is not None else 0.0 for v in values]
        colors = ["#1f3f6e"] + [_BAR] * (len(labels) - 1)
        ax.bar(positions, heights, color=colors, width=0.6)
        for x, v in zip(positions, values):
            ax.text(x, (v or 0.0), "无数据" if v is None else f"{v:.2f}", ha="center", va="bottom", fontsize=7)
        _benchmark_lines(ax, indicator)
        ax.set_xticks(positions, labels, rotation=30 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
        ax.set_ylabel(f"{indicator.get('name', '')}（{indicator.get('unit', '')}）")
        ax.spines[["top", "right"]].set_visible(False)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
        figure.subplots_adjust(left=0.09, right=0.8, top=0.94, bottom=0.3 if len(labels) > 6 else 0.14)
        return _svg(figure)


def trend_chart(indicator: dict[str, Any], region: str, year: int) -> str:
    """Year on year: the region's and each city's rate last year and this year."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(7.0, 2.6))
        ax = figure.subplots()
        series = [(region, indicator.get("previous_rate"), indicator.get("overall_rate", indicator.get("rate")))]
        series += [(str(c.get("city")), c.get("previous_rate"), c.get("rate")) for c in indicator.get("by_city", [])]
        for i, (name, before, now) in enumerate(series):
            points = [(x, _finite(v)) for x, v in ((year - 1, before), (year, now)) if _finite(v) is not None]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                        linewidth=2.2 if i == 0 else 0.9, color="#1f3f6e" if i == 0 else None, label=name)
        _benchmark_lines(ax, indicator)
        ax.set_xticks([year - 1, year], [f"{year - 1}年", f"{year}年"])
        ax.set_xlim(year - 1.3, year + 0.3)
        ax.set_ylabel(f"{indicator.get('unit', '')}")
        ax.spines[["top", "right"]].set_visible(False)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, ncol=1 + len(series) // 12)
        figure.subplots_adjust(left=0.09, right=0.8, top=0.94, bottom=0.12)
        return _svg(figure)


# --- the report ---------------------------------------------------------------------------------------

def _institution_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """(best first, worst, left out): ranked rows with data first, then those without."""
    ranked = sorted(rows, key=lambda r: (r.get("rank") is None, r.get("rank") or 0, str(r.get("code"))))
    if len(ranked) <= INSTITUTION_ROWS_IN_FULL:
        return ranked, [], 0
    n = INSTITUTION_ROWS_EACH_END
    return ranked[:n], ranked[-n:], len(ranked) - 2 * n


def _sections(indicators: Iterable[dict[str, Any]], heading: ReportHeading) -> list[dict[str, Any]]:
    out = []
    for number, indicator in enumerate(indicators, 1):
        top, bottom, left_out = _institution_rows(list(indicator.get("by_institution", [])))
        out.append({
            "n": number, "ind": indicator, "unit": indicator.get("unit", ""),
            "rate": indicator.get("overall_rate", indicator.get("rate")),
            "city_chart": bar_chart(indicator, list(indicator.get("by_city", [])), "city", heading.region),
            "level_chart": bar_chart(indicator, list(indicator.get("by_level", [])), "level", heading.region),
            "trend_chart": trend_chart(indicator, heading.region, heading.year),
            "top": top, "bottom": bottom, "left_out": left_out,
        })
    return out


def shortfalls(indicators: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per indicator with flags: the cities that fall short, how many institutions, and the furthest behind."""
    out = []
    for indicator in indicators:
        flags = list(indicator.get("flags", []))
        if not flags:
            continue
        cities = [f for f in flags if f.get("scope") == "city"]
        institutions = sorted((f for f in flags if f.get("scope") == "institution"),
                              key=lambda f: (-(_finite(f.get("gap")) or 0.0), str(f.get("subject"))))
        out.append({"ind": indicator, "cities": cities, "institutions": len(institutions),
                    "worst": institutions[:FLAGGED_INSTITUTIONS_NAMED]})
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(rate=fmt_rate, count=fmt_count, change=fmt_change)
    env.globals.update(verdict=verdict)
    return env


def render_html(analysis: Any, heading: ReportHeading) -> str:
    """The whole report as one self-contained HTML page (charts inline)."""
    indicators = indicators_of(analysis)
    flags = [f for ind in indicators for f in ind.get("flags", [])]
    return _environment().get_template("annual_report.html").render(
        h=heading, sections=_sections(indicators, heading), indicators=indicators, flags=flags,
        shortfalls=shortfalls(indicators), named_worst=FLAGGED_INSTITUTIONS_NAMED,
        font_family=FONT_FAMILY,
        met_target=sum(1 for i in indicators if verdict(i.get("overall_rate", i.get("rate")), i.get("target"),
                                                         i.get("direction", "higher")) == "达到"),
        with_target=sum(1 for i in indicators if _finite(i.get("target")) is not None),
    )


def render_pdf(html: str) -> bytes:
    """The same page as a PDF (WeasyPrint; fonts from fontconfig)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        identifier=hashlib.sha256(html.encode()).hexdigest()[:32].encode(), uncompressed_pdf=False)


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
