"""Summarize a results file: accuracy per task and method, average, Ave.Norm, cost, paper numbers.

Accuracy counts every latest record of a key: an errored sample counts as not solved (and is shown in
the error count, so `--retry-errors` can fix it). Ave.Norm is the paper's Eq. 2: the mean over tasks
of a method's score divided by the best score any compared method reached on that task; tasks where
every compared method scored 0 have no best to divide by and are left out (the report says how many).
The paper's columns are normalized the paper's way, by the best of its 13 methods.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csteer.bench.methods import parse_method
from csteer.bench.results import Contents, describe, read_results
from csteer.errors import UsageError


@dataclass
class Cell:
    n: int = 0
    correct: int = 0
    errors: int = 0
    task_tokens: int = 0
    coach_tokens: int = 0
    seconds: float = 0.0
    code_runs: int = 0  # samples whose answer came with a program run in the sandbox
    code_ok: int = 0  # ... and whose last program ran without error

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.n if self.n else 0.0


@dataclass
class Report:
    source: str
    tasks: list[str]
    methods: list[str]
    cells: dict[tuple[str, str], Cell]
    paper: dict[str, dict[str, float]]  # method -> task -> paper score (methods with a Table 1 column)
    notes: list[str] = field(default_factory=list)

    # --- per method -----------------------------------------------------------------------------------
    def tasks_of(self, method: str) -> list[str]:
        return [t for t in self.tasks if (t, method) in self.cells]

    def average(self, method: str) -> float | None:
        scores = [self.cells[(t, method)].accuracy for t in self.tasks_of(method)]
        return sum(scores) / len(scores) if scores else None

    def common_tasks(self) -> list[str]:
        """Tasks every compared method has results for: the ground Ave.Norm compares on."""
        return [t for t in self.tasks if all((t, m) in self.cells for m in self.methods)]

    def normalized_tasks(self) -> list[str]:
        return [t for t in self.common_tasks() if max(self.cells[(t, m)].accuracy for m in self.methods) > 0]

    def ave_norm(self, method: str) -> float | None:
        tasks = self.normalized_tasks()
        if not tasks:
            return None
        terms = [
            self.cells[(t, method)].accuracy / max(self.cells[(t, m)].accuracy for m in self.methods)
            for t in tasks
        ]
        return 100.0 * sum(terms) / len(terms)

    def totals(self, method: str) -> Cell:
        total = Cell()
        for t in self.tasks_of(method):
            c = self.cells[(t, method)]
            total.n += c.n
            total.correct += c.correct
            total.errors += c.errors
            total.task_tokens += c.task_tokens
            total.coach_tokens += c.coach_tokens
            total.seconds += c.seconds
            total.code_runs += c.code_runs
            total.code_ok += c.code_ok
        return total

    # --- the paper's side -----------------------------------------------------------------------------
    def paper_average(self, method: str) -> float | None:
        scores = [self.paper[method][t] for t in self.common_tasks() if t in self.paper.get(method, {})]
        return sum(scores) / len(scores) if scores else None

    def paper_ave_norm(self, method: str) -> float | None:
        from csteer.symbench.paper import paper_row

        column = parse_method(method).paper_column
        terms = []
        for t in self.common_tasks():
            row = paper_row(t)
            value = row.normalized(column) if row is not None and column else None
            if value is not None:
                terms.append(value)
        return 100.0 * sum(terms) / len(terms) if terms else None

    def to_dict(self) -> dict[str, Any]:
        def cell(c: Cell) -> dict[str, Any]:
            return {
                "n": c.n,
                "correct": c.correct,
                "accuracy": round(c.accuracy, 2),
                "errors": c.errors,
                "task_tokens_per_sample": round(c.task_tokens / c.n, 1) if c.n else None,
                "coach_tokens_per_sample": round(c.coach_tokens / c.n, 1) if c.n else None,
                "seconds_per_sample": round(c.seconds / c.n, 2) if c.n else None,
                "code_runs": c.code_runs,
                "code_ok": c.code_ok,
            }

        return {
            "source": self.source,
            "tasks": self.tasks,
            "methods": {
                m: {
                    "average": _round(self.average(m)),
                    "ave_norm": _round(self.ave_norm(m)),
                    "total": cell(self.totals(m)),
                    "per_task": {t: cell(self.cells[(t, m)]) for t in self.tasks_of(m)},
                    "paper": {
                        "column": parse_method(m).paper_column,
                        "per_task": self.paper.get(m, {}),
                        "average": _round(self.paper_average(m)),
                        "ave_norm": _round(self.paper_ave_norm(m)),
                    }
                    if m in self.paper
                    else None,
                }
                for m in self.methods
            },
            "ave_norm_tasks": self.normalized_tasks(),
            "notes": self.notes,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def build_report(path: Path) -> Report:
    contents = read_results(path)
    if not contents.records:
        raise UsageError(f"{path} holds no results yet")
    return summarize(contents, str(path))


def summarize(contents: Contents, source: str) -> Report:
    from csteer.symbench.base import all_tasks
    from csteer.symbench.paper import SOURCE, paper_row

    latest = contents.latest()
    cells: dict[tuple[str, str], Cell] = {}
    methods: list[str] = []
    seen_tasks: set[str] = set()
    for record in latest.values():
        task, method = str(record["task"]), str(record["method"])
        seen_tasks.add(task)
        if method not in methods:
            methods.append(method)
        c = cells.setdefault((task, method), Cell())
        c.n += 1
        c.correct += record.get("correct") is True
        c.errors += bool(record.get("error"))
        c.task_tokens += int(record.get("task_tokens") or 0)
        c.coach_tokens += int(record.get("coach_tokens") or 0)
        c.seconds += float(record.get("seconds") or 0.0)
        c.code_runs += bool(record.get("code_runs"))
        c.code_ok += record.get("code_status") == "ok"
    registry = list(all_tasks())
    tasks = [t for t in registry if t in seen_tasks] + sorted(seen_tasks - set(registry))
    paper: dict[str, dict[str, float]] = {}
    for method in methods:
        try:
            column = parse_method(method).paper_column
        except UsageError:
            column = None
        if column is None:
            continue
        scores = {}
        for task in tasks:
            row = paper_row(task) if task in registry else None
            if row is not None and column in row.scores:
                scores[task] = row.scores[column]
        paper[method] = scores
    report = Report(source, tasks, methods, cells, paper)
    report.notes.extend(describe(contents, repaired=False))
    superseded = len(contents.records) - len(latest)
    if superseded:
        report.notes.append(f"{superseded} earlier line(s) superseded by a later run of the same sample")
    left_out = len(report.common_tasks()) - len(report.normalized_tasks())
    if left_out:
        report.notes.append(f"Ave.Norm leaves out {left_out} task(s) where every method scored 0")
    if paper:
        report.notes.append(f"paper columns: {SOURCE}, GPT-4o as task model")
    return report


# --- rendering -----------------------------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _cell_text(c: Cell) -> str:
    """Accuracy, with the counts spelled out only when they are not the whole story at a glance."""
    text = f"{c.accuracy:.1f}"
    return text + (f" ({c.errors} err)" if c.errors else "")


def rows(report: Report) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header, task rows and summary rows as plain strings (shared by the terminal and HTML tables)."""
    paper_methods = [m for m in report.methods if m in report.paper]
    header = ["task", *report.methods, *[f"{m} (paper)" for m in paper_methods]]
    body = []
    for t in report.tasks:
        line = [t]
        line += [_cell_text(report.cells[(t, m)]) if (t, m) in report.cells else "-" for m in report.methods]
        line += [_fmt(report.paper[m].get(t)) for m in paper_methods]
        body.append(line)
    totals = {m: report.totals(m) for m in report.methods}

    def per_sample(m: str, value: float, digits: int) -> str:
        n = totals[m].n
        return f"{value / n:.{digits}f}" if n else "-"

    pad = ["" for _ in paper_methods]
    summary = [
        [
            "Average",
            *[_fmt(report.average(m)) for m in report.methods],
            *[_fmt(report.paper_average(m)) for m in paper_methods],
        ],
        [
            "Ave.Norm",
            *[_fmt(report.ave_norm(m)) for m in report.methods],
            *[_fmt(report.paper_ave_norm(m)) for m in paper_methods],
        ],
        ["samples", *[str(totals[m].n) for m in report.methods], *pad],
        ["errors", *[str(totals[m].errors) for m in report.methods], *pad],
        ["programs ran ok", *[f"{totals[m].code_ok}/{totals[m].code_runs}" for m in report.methods], *pad],
        ["task tokens/sample", *[per_sample(m, totals[m].task_tokens, 0) for m in report.methods], *pad],
        ["coach tokens/sample", *[per_sample(m, totals[m].coach_tokens, 0) for m in report.methods], *pad],
        ["seconds/sample", *[per_sample(m, totals[m].seconds, 1) for m in report.methods], *pad],
    ]
    return header, body, summary


def render_table(report: Report) -> Any:
    from rich.table import Table

    header, body, summary = rows(report)
    table = Table(title=f"SymBench results: {report.source}", title_justify="left")
    for i, name in enumerate(header):
        paper = name.endswith("(paper)")
        table.add_column(
            # two-line headers keep the table narrow: "all-\ncode", "all-code\n(paper)"
            (name.replace(" (paper)", "\n(paper)") if paper else name.replace("-", "-\n", 1)) if i else name,
            justify="left" if i == 0 else "right",
            style="dim" if paper else None,
            no_wrap=i == 0,
        )
    for line in body:
        table.add_row(*line)
    table.add_section()
    for line in summary:
        table.add_row(*line, style="bold" if line[0] in ("Average", "Ave.Norm") else None)
    return table


def render_html(report: Report, chart_png: bytes | None = None) -> str:
    import base64

    header, body, summary = rows(report)

    def tr(cells: list[str], tag: str = "td", cls: str = "") -> str:
        attr = f' class="{cls}"' if cls else ""
        return f"<tr{attr}>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>csteer bench report</title>',
        "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child"
        "{text-align:left}th{background:#f0f0f0}tr.summary td{font-weight:bold;background:#fafafa}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>SymBench results</h1><p>Results file: <code>{html.escape(report.source)}</code>. "
        "Accuracy in percent; columns marked <em>(paper)</em> are the paper's Table 1 "
        "figures for the matching method (GPT-4o as task model).</p>",
        "<table>",
        tr(header, "th"),
        *[tr(line) for line in body],
        *[tr(line, cls="summary") for line in summary],
        "</table>",
    ]
    if report.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in report.notes) + "</ul>")
    if chart_png:
        data = base64.b64encode(chart_png).decode("ascii")
        parts.append(f'<p><img alt="accuracy per task and method" src="data:image/png;base64,{data}"></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
