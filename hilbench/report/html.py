"""A static HTML report of the results store that opens from disk with no network.

    DIR/index.html            the latest matrix run's grid (model × board, a cell per job,
                              linking to its run page), then a history chart per model ×
                              board × variant
    DIR/runs/<job>.html       one job: figures, checks, the per-layer profile as a bar chart
    DIR/history/<key>.html    one series: the chart and its table

Charts are matplotlib figures inlined as SVG (text as paths: no font, script, stylesheet
or image is fetched); the pages have no JavaScript.
"""

from __future__ import annotations

import html
import io
import re
import time
from collections import defaultdict
from pathlib import Path

from hilbench.errors import ConfigError
from hilbench.store.db import JobRow, Store

STATUS_COLOUR = {"pass": "#2e7d32", "fail": "#c62828", "skipped": "#9e9e9e", "error": "#6a1b9a"}
CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:0.3em 0.6em;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left}
td.cell{text-align:center;font-weight:bold} td.cell a{color:#fff;text-decoration:none;
display:block} .fail{color:#c62828;font-weight:bold} .pass{color:#2e7d32}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart{border:1px solid #ddd;padding:0.3em}
.chart svg{display:block;width:520px;height:auto}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _n(value: int | float | None) -> str:
    return "" if value is None else f"{value:,}"


def _page(title: str, body: str, root: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>"
            f'<p><a href="{root}index.html">hilbench results</a></p><h1>{_e(title)}</h1>'
            f"{body}</body></html>\n")


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "hilbench"  # the same store gives the same SVG
    matplotlib.rcParams["svg.fonttype"] = "path"
    import matplotlib.pyplot as plt

    return plt


def _series_key(model: str, board: str, variant: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{model}@{board}[{variant}]")


def regressions(job: JobRow) -> list[dict]:
    return [c for c in job.failed_checks if c["name"].startswith("regression.")]


def history_chart(rows: list[JobRow]) -> str:
    """Instructions, estimated cycles, RAM and flash per run; a failed regression check is
    a red cross on the figure it is about."""
    plt = _pyplot()
    measured = [r for r in rows if r.status in ("pass", "fail")]
    figure, axes = plt.subplots(2, 2, figsize=(7.5, 4.2), sharex=True)
    x = list(range(len(measured)))
    labels = [str(r.matrix_run) for r in measured]
    panels = (("instructions", "instructions (exact)"), ("cycles", "est. cycles"),
              ("ram_bytes", "RAM B"), ("flash_bytes", "flash B"))
    for ax, (key, title) in zip(axes.flat, panels):
        values = [getattr(r, key) for r in measured]
        ax.plot(x, [v if v is not None else float("nan") for v in values], marker="o",
                color="#1565c0")
        bad = [(i, v) for i, (r, v) in enumerate(zip(measured, values))
               if v is not None and any(c["name"] == f"regression.{key}" for c in regressions(r))]
        if bad:
            ax.plot([i for i, _ in bad], [v for _, v in bad], "x", color="#c62828",
                    markersize=12, markeredgewidth=3, label="regression")
            ax.legend(loc="best", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.tick_params(labelsize=7)
        ax.set_xticks(x, labels)
    for ax in axes[1]:
        ax.set_xlabel("matrix run", fontsize=8)
    figure.suptitle(f"{rows[0].model} on {rows[0].board} [{rows[0].series}]", fontsize=10)
    figure.tight_layout()
    return _svg(figure)


def layer_chart(layers: list) -> str:
    plt = _pyplot()
    names = [f"{l['layer']} {l['op']}" for l in layers]
    values = [l["instructions"] or 0 for l in layers]
    figure, ax = plt.subplots(figsize=(7.5, 0.3 * len(layers) + 1.0))
    ax.barh(range(len(layers)), values, color="#1565c0")
    ax.set_yticks(range(len(layers)), names, fontsize=8)
    ax.invert_yaxis()
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.set_xlabel("instructions (exact, slowest inference)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    figure.tight_layout()
    return _svg(figure)


def _checks_table(job: JobRow) -> str:
    rows = "".join(
        f'<tr><td class="l">{_e(c["name"])}</td><td class="l {"pass" if c["passed"] else "fail"}">'
        f'{"pass" if c["passed"] else "FAIL"}</td><td>{_e(c["actual"])}</td>'
        f'<td>{_e(c["limit"])}</td><td class="l">{_e(c["detail"])}</td></tr>'
        for c in job.checks)
    return ('<table><tr><th class="l">check</th><th class="l">result</th><th>actual</th>'
            f'<th>limit</th><th class="l">note</th></tr>{rows}</table>') if rows else ""


def _run_page(store: Store, job: JobRow) -> str:
    r = job.row
    figures = [("status", job.status), ("message", job.message), ("variant", job.series),
               ("matrix run", job.matrix_run),
               ("started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.started))),
               ("duration", f"{job.duration:.1f} s"), ("model SHA-256", job.model_sha256),
               ("hilbench", r["hilbench_version"]), ("git commit", r["git_commit"]),
               ("vectors", r["vectors"]), ("bit-exact", job.bit_exact),
               ("mismatching values", job.mismatches),
               ("instructions", _n(job.instructions)),
               ("cycles", _n(job.cycles) + (" (estimated)" if r["cycles_estimated"] else "")),
               ("latency", "" if job.latency_us is None else f"{job.latency_us:,} us"),
               ("flash", _n(job.flash_bytes)), ("static RAM", _n(r["ram_static"])),
               ("arena", _n(r["arena_bytes"])), ("stack peak", _n(r["stack_peak"])),
               ("total RAM", _n(job.ram_bytes)),
               ("link", "" if r["link_bytes_per_s"] is None
                else f"{r['link_bytes_per_s'] / 1024:,.1f} KiB/s")]
    body = "<table>" + "".join(f'<tr><th class="l">{_e(k)}</th><td class="l">{_e(v)}</td></tr>'
                               for k, v in figures if v not in (None, "")) + "</table>"
    body += _checks_table(job)
    layers = store.layers(job.id)
    if layers:
        body += "<h2>per-layer profile</h2>" + f'<div class="chart">{layer_chart(layers)}</div>'
        body += ('<table><tr><th>#</th><th class="l">op</th><th>MACs</th><th>instructions</th>'
                 "<th>est. cycles</th></tr>" + "".join(
                     f'<tr><td>{l["layer"]}</td><td class="l">{_e(l["op"])}</td>'
                     f'<td>{_n(l["macs"])}</td><td>{_n(l["instructions"])}</td>'
                     f'<td>{_n(l["cycles"])}</td></tr>' for l in layers) + "</table>")
    series = _series_key(job.model, job.board, job.series)
    body += f'<p><a href="../history/{series}.html">history of {_e(job.job_key)}</a></p>'
    return _page(f"{job.model} on {job.board} [{job.series}]", body, "../")


def _history_table(rows: list[JobRow]) -> str:
    lines = "".join(
        f'<tr><td><a href="../runs/{r.id}.html">{r.matrix_run}</a></td>'
        f'<td class="l">{time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))}</td>'
        f'<td class="l" style="color:{STATUS_COLOUR[r.status]}">{r.status}</td>'
        f"<td>{_n(r.instructions)}</td><td>{_n(r.cycles)}</td><td>{_n(r.ram_bytes)}</td>"
        f'<td>{_n(r.flash_bytes)}</td><td class="l">'
        + _e("; ".join(f"{c['name']}: {c['actual']} {c['detail']}" for c in r.failed_checks))
        + "</td></tr>" for r in rows)
    return ('<table><tr><th>run</th><th class="l">when</th><th class="l">status</th>'
            "<th>instructions</th><th>est. cycles</th><th>RAM B</th><th>flash B</th>"
            f'<th class="l">failed checks</th></tr>{lines}</table>')


def write_html_report(store: Store, directory: Path) -> Path:
    runs = store.matrix_runs()
    if not runs:
        raise ConfigError(f"the results store {store.path} holds no matrix run yet")
    try:
        (directory / "runs").mkdir(parents=True, exist_ok=True)
        (directory / "history").mkdir(exist_ok=True)
        every = store.jobs()
        for job in every:
            (directory / "runs" / f"{job.id}.html").write_text(_run_page(store, job))
        series: dict[tuple[str, str, str], list[JobRow]] = defaultdict(list)
        for job in sorted(every, key=lambda j: (j.started, j.id)):
            series[(job.model, job.board, job.series)].append(job)
        charts = {}
        for key, rows in sorted(series.items()):
            name = _series_key(*key)
            chart = history_chart(rows) if any(r.instructions for r in rows) else ""
            charts[key] = (name, chart)
            (directory / "history" / f"{name}.html").write_text(_page(
                f"history: {key[0]} on {key[1]} [{key[2]}]",
                f'<div class="chart">{chart}</div>' + _history_table(rows), "../"))
        latest = runs[-1]["id"]
        index = directory / "index.html"
        index.write_text(_page("hilbench results", _grid(store.jobs(latest), runs[-1])
                               + _history_section(charts), ""))
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {directory}: {exc.strerror or exc}") \
            from None
    return index


def _grid(jobs: list[JobRow], run) -> str:
    boards = sorted({j.board for j in jobs})
    rows = sorted({(j.model, j.series) for j in jobs})
    cell = {(j.model, j.series, j.board): j for j in jobs}
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["started"]))
    head = "".join(f"<th>{_e(b)}</th>" for b in boards)
    body = ""
    for model, variant in rows:
        body += f'<tr><th class="l">{_e(model)} [{_e(variant)}]</th>'
        for board in boards:
            job = cell.get((model, variant, board))
            if job is None:
                body += "<td></td>"
                continue
            title = job.message or "; ".join(f"{c['name']}: {c['actual']} {c['detail']}"
                                             for c in job.failed_checks) or job.status
            body += (f'<td class="cell" style="background:{STATUS_COLOUR[job.status]}" '
                     f'title="{_e(title)}"><a href="runs/{job.id}.html">{job.status}</a></td>')
        body += "</tr>"
    counts = ", ".join(f"{sum(j.status == s for j in jobs)} {s}"
                       for s in ("pass", "fail", "skipped", "error"))
    return (f"<h2>matrix run {run['id']} ({when}, {_e(Path(run['plan_path']).name)}): "
            f"{counts}</h2><table><tr><th class=\"l\">model [variant]</th>{head}</tr>"
            f"{body}</table>")


def _history_section(charts: dict) -> str:
    items = "".join(f'<div class="chart"><div><a href="history/{name}.html">{_e(k[0])} on '
                    f"{_e(k[1])} [{_e(k[2])}]</a></div>{chart}</div>"
                    for k, (name, chart) in charts.items() if chart)
    return f'<h2>history</h2><div class="charts">{items}</div>'
