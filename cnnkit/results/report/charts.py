"""The report's charts (PNG), drawn with matplotlib's object API: no pyplot, no display needed.

Each ``draw_*`` draws one chart on the axes it is given, so the same drawing serves its own
PNG and the overview picture.
"""

import statistics

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cnnkit.results.report.read import shorten
from cnnkit.spec.parts import FUNCTIONS

TOP_MISTAKES = 15  # bars in mistakes.png (the CSV and the page list them all)
CORE_COLOR, OPTIONAL_COLOR = "#4c72b0", "#8172b3"
MISTAKE_COLORS = {"diagnosed": "#dd8452", "failure": "#8c8c8c"}
MISTAKE_KINDS = {"diagnosed": "mistake named by the checker", "failure": "kind of failure (no mistake named)"}


def save(figure, path):
    """PNG through the Agg canvas directly: no pyplot, no global backend switch, no display needed."""
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110)


def new_figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def draw_histogram(axes, values, maximum, title, color):
    """Histogram of one part's scores, bins of a tenth of the maximum, with the mean marked."""
    maximum = maximum or max(values + [1.0])
    if values:
        axes.hist(values, bins=[maximum * i / 10 for i in range(11)], color=color, edgecolor="white")
        mean = statistics.fmean(values)
        axes.axvline(mean, color="#333333", linestyle="--", linewidth=1.2)
        where = {"xycoords": ("data", "axes fraction"), "xytext": (4, -14), "textcoords": "offset points"}
        axes.annotate(f"mean {mean:.1f}", (mean, 1), **where)
    else:
        axes.text(0.5, 0.5, "no scores yet", ha="center", va="center", transform=axes.transAxes)
    axes.set(xlim=(0, maximum), xlabel=f"score (out of {maximum:g})", ylabel="students")
    axes.set_title(f"{title}: {len(values)} students", fontsize=11)
    axes.yaxis.get_major_locator().set_params(integer=True)


def draw_function_rates(axes, rows):
    """Horizontal bars per function: share of cases passed, and share of students with full marks."""
    labels = [r["function"] + (" (opt.)" if r["part"] == "optional" else "") for r in rows][::-1]
    cases = [r["case_pass_rate"] or 0 for r in rows][::-1]
    full = [r["full_marks_rate"] or 0 for r in rows][::-1]
    positions = range(len(rows))
    axes.barh([p + 0.2 for p in positions], cases, height=0.4, color="#4c72b0", label="cases passed")
    axes.barh([p - 0.2 for p in positions], full, height=0.4, color="#55a868", label="students with full marks")
    for p, (c, f) in enumerate(zip(cases, full)):
        axes.text(c + 0.01, p + 0.2, f"{c:.0%}", va="center", fontsize=8)
        axes.text(f + 0.01, p - 0.2, f"{f:.0%}", va="center", fontsize=8)
    axes.set(yticks=list(positions), yticklabels=labels, xlim=(0, 1.15))
    axes.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    # Below the axes: inside, it would cover the bars of whichever function passes most.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=8, frameon=False)
    axes.set_title("Pass rate per function (graded students)", fontsize=11)


def draw_case_rates(axes, rows):
    """A grid, function by case number, coloured and labelled by the share of students who passed.

    Returns the image, for a colour bar.
    """
    import numpy as np

    cases = max([r["case"] for r in rows] + [1])
    grid = np.full((len(FUNCTIONS), cases), np.nan)
    for r in rows:
        if r["pass_rate"] != "":
            grid[FUNCTIONS.index(r["function"]), r["case"] - 1] = r["pass_rate"]
    image = axes.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            axes.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7.5)
    axes.set(xticks=range(cases), xticklabels=[str(c + 1) for c in range(cases)], yticks=range(len(FUNCTIONS)))
    axes.set_yticklabels(FUNCTIONS, fontsize=9)
    axes.set_xlabel("case (see case_pass_rates.csv for what each one is)")
    axes.set_title("Share of students passing each case", fontsize=11)
    return image


def draw_mistakes(axes, rows, top=TOP_MISTAKES):
    """The `top` most frequent mistakes, by number of students; named mistakes in orange."""
    shown = rows[:top][::-1]
    if not shown:
        axes.text(0.5, 0.5, "no failing cases", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    else:
        labels = [shorten(f"{r['function']}: {r['mistake']}", 60) for r in shown]
        colors = [MISTAKE_COLORS[r["kind"]] for r in shown]
        axes.barh(range(len(shown)), [r["students"] for r in shown], color=colors)
        for p, r in enumerate(shown):
            axes.text(r["students"], p, f" {r['students']} ({r['cases']} cases)", va="center", fontsize=8)
        axes.set(yticks=range(len(shown)), xlabel="students")
        axes.set_yticklabels(labels, fontsize=8)
        axes.set_xlim(0, max(r["students"] for r in shown) * 1.35)
        axes.xaxis.get_major_locator().set_params(integer=True)
        kinds = [Patch(color=MISTAKE_COLORS[k], label=label) for k, label in MISTAKE_KINDS.items()]
        axes.legend(handles=kinds, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    axes.set_title("Most frequent mistakes", fontsize=11)


def draw_charts(out, tables, parts):
    """Every PNG of the report, plus overview.png: four of them on one picture.

    parts: {'core': max, 'optional': max} of the assignment (the histograms' range).
    """
    core, optional = score_lists(tables["students"])
    figure, axes = new_figure(5.6, 3.4)
    draw_histogram(axes, core, parts["core"], "Core", CORE_COLOR)
    save(figure, out / "scores_core.png")
    figure, axes = new_figure(5.6, 3.4)
    draw_histogram(axes, optional, parts["optional"], "Optional", OPTIONAL_COLOR)
    save(figure, out / "scores_optional.png")
    figure, axes = new_figure(7.5, 4.2)
    draw_function_rates(axes, tables["functions"])
    save(figure, out / "function_pass_rates.png")
    cases = max([r["case"] for r in tables["cases"]] + [1])
    figure, axes = new_figure(max(6.0, 1.6 + 0.62 * cases), 4.2)
    figure.colorbar(draw_case_rates(axes, tables["cases"]), ax=axes, fraction=0.04, format=lambda x, _: f"{x:.0%}")
    save(figure, out / "case_pass_rates.png")
    figure, axes = new_figure(8.5, 1.0 + 0.34 * max(min(len(tables["mistakes"]), TOP_MISTAKES), 4))
    draw_mistakes(axes, tables["mistakes"])
    save(figure, out / "mistakes.png")
    draw_overview(out / "overview.png", tables, parts)


def draw_overview(path, tables, parts):
    """One picture for a slide or an e-mail: both histograms, pass rates per function, top mistakes."""
    figure = Figure(figsize=(13, 8.6), layout="constrained")
    # Two subfigures, so the long labels of the lower row do not squeeze the histograms above.
    top, bottom = figure.subfigures(2, 1, height_ratios=[1, 1.25])
    core_axes, optional_axes = top.subplots(1, 2)
    function_axes, mistake_axes = bottom.subplots(1, 2, width_ratios=[1, 1.25])
    core, optional = score_lists(tables["students"])
    draw_histogram(core_axes, core, parts["core"], "Core", CORE_COLOR)
    draw_histogram(optional_axes, optional, parts["optional"], "Optional", OPTIONAL_COLOR)
    draw_function_rates(function_axes, tables["functions"])
    draw_mistakes(mistake_axes, tables["mistakes"], top=10)
    problems = tables["problems"]
    counts = [
        f"{len(tables['students'])} students",
        f"{len({p['student'] for p in problems if p['kind'] == 'crash'})} crashed",
        f"{len({p['student'] for p in problems if p['kind'] == 'timeout'})} timed out",
        f"{len({r['student'] for r in tables['integrity']})} with integrity flags",
    ]
    figure.suptitle(f"{tables['assignment']}: " + ", ".join(counts), fontsize=13)
    save(figure, path)


def score_lists(rows):
    """(core scores, optional scores) of the students the gradebook has scores for."""
    scored = [r for r in rows if r["core"] != ""]
    return [r["core"] for r in scored], [r["optional"] for r in scored]
