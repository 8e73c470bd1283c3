"""The secretariat's dashboard: the metrics of SPEC section 7 grouped under the
action-plan outputs they report on, with period presets and server-drawn SVG charts.

The numbers come from ``lms.metrics.definitions.compute`` only; this module arranges
them (and draws bars), it never counts anything itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..exports import Column
from ..metrics.definitions import SEX_KEYS, Period, narrowed_by_course
from ..templating import KIND_LABELS, SEX_LABELS

PRESETS = ("this_quarter", "last_quarter", "this_year", "last_year", "last_12_months", "custom")
PRESET_LABELS = {
    "this_quarter": _l("This quarter"),
    "last_quarter": _l("Last quarter"),
    "this_year": _l("This year"),
    "last_year": _l("Last year"),
    "last_12_months": _l("Last 12 months"),
    "custom": _l("Custom dates"),
}
SPLIT_KEYS = (*SEX_KEYS, "not_recorded")


def preset_period(preset: str, today: date) -> Period:
    """The inclusive UTC dates of a preset, relative to ``today``."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if preset == "this_quarter":
        end_month = quarter_start.month + 2
        following = date(today.year + (end_month == 12), end_month % 12 + 1, 1)
        return Period(quarter_start, following - timedelta(days=1))
    if preset == "last_quarter":
        end = quarter_start - timedelta(days=1)
        return Period(date(end.year, end.month - 2, 1), end)
    if preset == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    if preset == "last_12_months":
        return Period(today - timedelta(days=364), today)
    return Period(date(today.year, 1, 1), date(today.year, 12, 31))


# -- what each output reports -------------------------------------------------------------

#: The action-plan outputs the dashboard reports under (the core's; each metric says
#: which it belongs to: ``registry.Metric.output``).
OUTPUT_TEXTS = {
    "output_3_1": (_l("Outcome 3, Output 1: capacity-building activities and the workshop series"),
                   _l("Workshops held for Alliance 8.7 members and the people they reached.")),
    "output_3_3": (_l("Outcome 3, Output 3: employers' organisations and their SME members"),
                   _l("Organisations reached by a completion or an attended session, with the focus on SMEs.")),
    "output_3_4": (_l("Outcome 3, Output 4: due-diligence capacity built"),
                   _l("Enrolments, completions, certificates and what learners gained between the pre-test "
                      "and the final quiz.")),
}


@dataclass(frozen=True)
class Output:
    key: str
    title: object
    summary: object
    people: tuple[str, ...] = ()  # keys split by sex
    integers: tuple[str, ...] = ()  # plain counts
    organisations: tuple[str, ...] = ()  # {"total", "by_kind"}
    gains: tuple[str, ...] = ()  # {"n", "mean_pre", "mean_post", "mean_normalised_gain"}


def outputs(registry) -> list[Output]:
    """The outputs with the metrics this app's registry places under each, in order;
    an output no metric reports under is left out."""
    shown = [m for m in registry.sorted_metrics() if not m.same_as]
    result = []
    for key, (title, summary) in OUTPUT_TEXTS.items():
        mine = [m for m in shown if m.output == key]
        if not mine:
            continue
        result.append(Output(key, title, summary, **{
            field: tuple(m.key for m in mine if m.shape == shape)
            for field, shape in (("people", "people"), ("integers", "integer"),
                                 ("organisations", "organisations"), ("gains", "gain"))}))
    return result


def metric_labels(registry) -> dict:
    return {key: metric.label for key, metric in registry.metrics.items()}


def metric_notes(registry) -> dict:
    """The metrics' own notes (``Metric.note``), by key, for those that have one."""
    return {key: metric.note for key, metric in registry.metrics.items() if metric.note}


# -- charts ------------------------------------------------------------------------------

# Each bar has its label on a line above it, so long labels are never cut.
CHART_WIDTH = 480
LABEL_HEIGHT = 18
BAR_HEIGHT = 20
BAR_GAP = 12
ROW_HEIGHT = LABEL_HEIGHT + BAR_HEIGHT + BAR_GAP
PLOT_WIDTH = CHART_WIDTH - 70  # room for the value after the longest bar


@dataclass
class Segment:
    key: str  # CSS class suffix: female, male, other, not_recorded, plain
    x: float
    width: float
    value: int


@dataclass
class Bar:
    label: str
    total: float
    y: float
    segments: list[Segment] = field(default_factory=list)
    text: str = ""


@dataclass
class Chart:
    id: str
    title: str
    bars: list[Bar]
    legend: tuple[str, ...]
    height: float
    width: int = CHART_WIDTH
    plot_width: int = PLOT_WIDTH
    label_height: int = LABEL_HEIGHT
    bar_height: int = BAR_HEIGHT


def _scale(values) -> float:
    top = max([v for v in values if v] or [1])
    return PLOT_WIDTH / top


def stacked_chart(chart_id: str, title: str, items: list[tuple[str, dict]]) -> Chart:
    """One horizontal bar per (label, split), stacked by sex."""
    scale = _scale(split["total"] for _, split in items)
    bars = []
    for i, (label, split) in enumerate(items):
        bar = Bar(str(label), split["total"], i * ROW_HEIGHT, text=str(split["total"]))
        x = 0.0
        for key in SPLIT_KEYS:
            width = split[key] * scale
            if split[key]:
                bar.segments.append(Segment(key, round(x, 2), round(width, 2), split[key]))
            x += width
        bars.append(bar)
    return Chart(chart_id, title, bars, SPLIT_KEYS, _height(bars))


def plain_chart(chart_id: str, title: str, items: list[tuple[str, float]], text=str) -> Chart:
    """One horizontal bar per (label, value)."""
    scale = _scale(value for _, value in items)
    bars = []
    for i, (label, value) in enumerate(items):
        bar = Bar(str(label), value, i * ROW_HEIGHT, text=text(value))
        if value:
            bar.segments.append(Segment("plain", 0.0, round(value * scale, 2), value))
        bars.append(bar)
    return Chart(chart_id, title, bars, (), _height(bars))


def _height(bars) -> float:
    return len(bars) * ROW_HEIGHT


# -- the flat table behind every export ----------------------------------------------------

#: Beside a figure the ``course`` filter does not narrow, when a course is chosen: on the
#: page and in the downloads' ``note`` column (lms.metrics.definitions says why).
NOT_NARROWED_NOTE = _l("Not narrowed by the course filter: this figure belongs to no course.")
GAIN_PARTS = {
    "n": _l("Pairs"),
    "mean_pre": _l("Mean pre-test score"),
    "mean_post": _l("Mean final score"),
    "mean_normalised_gain": _l("Mean normalised gain"),
}
EXPORT_COLUMNS = (
    Column("output", _l("Output"), _l("The action-plan output the figure reports under: output_3_1 is "
                                      "Outcome 3, Output 1, and so on; data_quality is the data quality.")),
    Column("metric", _l("Metric"), _l("The figure's key, as in the metrics API (GET /api/v1/metrics).")),
    Column("figure", _l("Figure"), _l("The figure as the dashboard names it.")),
    Column("breakdown", _l("Breakdown"), _l("Empty for the figure itself; kind:<kind> for the organisations of "
                                            "one kind; n, mean_pre, mean_post and mean_normalised_gain for the "
                                            "parts of the knowledge gain.")),
    Column("total", _l("Total"), _l("The figure: a count, a mean score (0 to 100), a normalised gain or a "
                                    "share (0 to 1); empty when nobody was counted.")),
    Column("female", SEX_LABELS["female"], _l("People or records whose sex is recorded as female.")),
    Column("male", SEX_LABELS["male"], _l("People or records whose sex is recorded as male.")),
    Column("other", SEX_LABELS["other"], _l("People or records whose sex is recorded as other.")),
    Column("not_recorded", SEX_LABELS[None], _l("People or records whose sex is not recorded.")),
    Column("note", _l("Note"), _l("What to know when reading the figure with the filters chosen.")),
)
#: The columns' keys (the CSV's second header row).
EXPORT_HEADER = tuple(column.key for column in EXPORT_COLUMNS)


def not_narrowed(registry, course: str | None) -> set[str]:
    """The metric keys to mark when the ``course`` filter is set: those it does not narrow."""
    return set(registry.metrics) - narrowed_by_course(registry) if course else set()


def export_rows(metrics: dict, registry, course: str | None = None) -> list[tuple]:
    """Every figure as a row: people counts with their sex split, organisation counts by
    kind, runs and sessions, the knowledge-gain figures and the data-quality share, each
    with its key and its label; ``course``: the course filter, if any."""
    labels = metric_labels(registry)
    notes = metric_notes(registry)
    marked = not_narrowed(registry, course)

    def row(output, key, breakdown, total, split=("", "", "", ""), part=None):
        figure = str(labels[key]) if part is None else f"{labels[key]}: {part}"
        note = " ".join(str(n) for n in (NOT_NARROWED_NOTE if key in marked else None, notes.get(key)) if n)
        return (output, key, figure, breakdown, total, *split, note)

    rows = []
    for output in outputs(registry):
        for key in output.integers:
            rows.append(row(output.key, key, "", metrics[key]))
        for key in output.people:
            split = metrics[key]
            rows.append(row(output.key, key, "", split["total"], tuple(split[k] for k in SPLIT_KEYS)))
        for key in output.organisations:
            count = metrics[key]
            rows.append(row(output.key, key, "", count["total"]))
            for kind, n in count["by_kind"].items():
                rows.append(row(output.key, key, f"kind:{kind}", n, part=KIND_LABELS.get(kind, kind)))
        for key in output.gains:
            gain = metrics[key]
            for part, part_label in GAIN_PARTS.items():
                value = gain[part]
                rows.append(row(output.key, key, part, "" if value is None else round(value, 4), part=part_label))
    for metric in registry.sorted_metrics():
        if metric.shape == "share":
            share = metrics[metric.key]
            rows.append(row(metric.output, metric.key, "", "" if share is None else round(share, 4)))
    return rows
