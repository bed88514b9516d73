"""Bar chart of accuracy per task and method (matplotlib, Agg backend, imported only when asked)."""

from __future__ import annotations

import io
from pathlib import Path

from csteer.bench.report import Report


def chart_png(report: Report) -> bytes:
    """The chart as PNG bytes: one group of bars per task (and the average), one bar per method,
    with the paper's score for the same method marked as a short black line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [*report.tasks, "Average"]
    methods = report.methods
    width = 0.8 / max(1, len(methods))
    fig_width = min(28.0, max(7.0, 0.6 + len(groups) * (0.35 + 0.22 * len(methods))))
    fig, ax = plt.subplots(figsize=(fig_width, 5.2), dpi=110)
    colors = plt.get_cmap("tab10")
    paper_drawn = False
    for j, method in enumerate(methods):
        xs, heights = [], []
        for i, group in enumerate(groups):
            if group == "Average":
                value = report.average(method)
            else:
                cell = report.cells.get((group, method))
                value = cell.accuracy if cell is not None else None
            if value is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            heights.append(value)
        bars = ax.bar(xs, heights, width * 0.92, label=method, color=colors(j % 10))
        if len(groups) * len(methods) <= 48:
            ax.bar_label(bars, labels=[f"{h:.0f}" for h in heights], fontsize=7, padding=1)
        paper = report.paper.get(method, {})
        marks: list[tuple[float, float]] = []
        for i, g in enumerate(groups):
            y = paper.get(g) if g != "Average" else report.paper_average(method)
            if y is not None:
                marks.append((i - 0.4 + width * (j + 0.5), y))
        if marks:
            ax.scatter(
                [x for x, _ in marks],
                [y for _, y in marks],
                marker="_",
                s=max(60.0, 900 * width),
                color="black",
                linewidths=2,
                zorder=3,
                label="paper, GPT-4o (same method)" if not paper_drawn else None,
            )
            paper_drawn = True
    ax.set_xticks(range(len(groups)))
    slanted = len(groups) > 4 or max(len(g) for g in groups) > 14
    ax.set_xticklabels(
        groups,
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
        rotation_mode="anchor",
    )
    ax.set_ylim(0, 109)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"SymBench accuracy per task and method ({Path(report.source).name})")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.2)  # keeps long labels and the legend
    plt.close(fig)
    return buffer.getvalue()
