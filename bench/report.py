"""The tables: every workload's figures as medians with (min–max), and the targets with met / not met; the chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import DOC, KiB, MiB

TABLE_START, TABLE_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
TITLES = {"small": "Many small files", "audio8": "Audio-sized files", "audio64": "Long recordings", "large": "One large file"}
DISK_CEILING = "the disk's durable ceiling: the same files written and fsynced, 8 threads, no network"
# The copy targets (issue 24): the agent against s5cmd, and against s5cmd with its files fsynced (the agent's own work)
COPY_GOALS = {"small": (0.7, 1.0), "audio8": (0.8, 1.0), "audio64": (1.0, None)}


def fmt(stats: dict[str, float] | None, scale: float = 1.0, digits: int = 0) -> str:
    if not stats:
        return "n/a"
    return f"{stats['median'] * scale:.{digits}f} ({stats['min'] * scale:.{digits}f}–{stats['max'] * scale:.{digits}f})"


def size_text(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size // KiB} KiB"


def _median(row: dict[str, Any], metric: str) -> float | None:
    return row.get(metric, {}).get("median") if "error" not in row else None


def ratio_to_s5cmd(copy: dict[str, Any], metric: str = "files_per_s", tool: str = "s5cmd") -> float | None:
    agent, s5 = _median(copy["tools"].get("agent", {}), metric), _median(copy["tools"].get(tool, {}), metric)
    return agent / s5 if agent and s5 else None


def cpu_per_file_ms(results: dict[str, Any]) -> float | None:
    """The agent's CPU per small file: (CPU of a drain - CPU of an empty drain) / files, medians, in ms."""
    small, startup = results.get("copy", {}).get("small"), results.get("startup")
    if not small or not startup or "cpu_seconds" not in small["tools"].get("agent", {}):
        return None
    return 1000 * (small["tools"]["agent"]["cpu_seconds"]["median"] - startup["cpu_seconds"]["median"]) / small["count"]


def render(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    lines = [(f"Taken {meta.get('date', '?')} on {meta.get('machine', '?')}; server {meta.get('server', '?')}; "
             f"median (min–max) of {meta.get('runs', '?')} runs; load average at start {meta.get('load', '?')}; "
             f"downloads through {meta.get('download_path', '?')}. Compare figures within this run only."), ""]
    number = 0
    for key, copy in results.get("copy", {}).items():
        number += 1
        lines += _copy_table(number, key, copy, results.get("startup"))
    if warm := results.get("warm"):
        number += 1
        lines += [(f"**{number}. Warm throughput**: the agent already running, idle on 20 s long polls; all notifications sent "
                  "at once; first send to last file in place."), "", "| workload | files/s | MiB/s | seconds | vs s5cmd's cold copy |",
                  "|---|---|---|---|---|"]
        for key, row in warm.items():
            s5 = results.get("copy", {}).get(key, {}).get("tools", {}).get("s5cmd", {})
            vs = f"{row['files_per_s']['median'] / s5['files_per_s']['median']:.2f}×" if _median(s5, "files_per_s") else ""
            lines.append(f"| {row['count']} × {size_text(row['size'])} | {fmt(row['files_per_s'])} | {fmt(row['mib_per_s'], digits=1)} | "
                         f"{fmt(row['seconds'], digits=2)} | {vs} |")
        lines.append("")
    if cold := results.get("cold_start"):
        number += 1
        lines += [f"**{number}. Cold start**: `run --headless --drain` on an empty queue.", "", "| measure | value |", "|---|---|",
                  f"| launch to first receive, ms | {fmt(cold['first_receive'], 1000)} |",
                  f"| launch to exit, s | {fmt(cold['exit'], digits=2)} |", f"| CPU, s | {fmt(cold['cpu_seconds'], digits=2)} |", ""]
    lines += _targets(results)
    return "\n".join(lines) + "\n"


def _copy_table(number: int, key: str, copy: dict[str, Any], startup: dict[str, Any] | None) -> list[str]:
    count, size = copy["count"], copy["size"]
    what = f"{count} objects of {size_text(size)}" if count > 1 else f"one object of {size_text(size)}"
    lines = [(f"**{number}. {TITLES.get(key, key)}**: {what}, wall time from launch to exit (the agent's fsync and rename "
             "included)."), "", "| tool | files/s | MiB/s | seconds | vs s5cmd |", "|---|---|---|---|---|"]
    s5 = _median(copy["tools"].get("s5cmd", {}), "files_per_s")
    for name, row in copy["tools"].items():
        if "error" in row:
            lines.append(f"| {name} | n/a: {row['error']} | | | |")
            continue
        vs = f"{row['files_per_s']['median'] / s5:.2f}×" if s5 else ""
        lines.append(f"| {name} | {fmt(row['files_per_s'])} | {fmt(row['mib_per_s'], digits=1)} | {fmt(row['seconds'], digits=2)} | {vs} |")
    if disk := copy.get("disk"):
        vs = f"{disk['files_per_s']['median'] / s5:.2f}×" if s5 else ""
        lines.append(f"| {DISK_CEILING} | {fmt(disk['files_per_s'])} | {fmt(disk['mib_per_s'], digits=1)} | "
                     f"{fmt(disk['seconds'], digits=2)} | {vs} |")
    if startup:
        lines.append(f"| agent start-up and exit alone (empty queue), in each agent run above | | | {fmt(startup['seconds'], digits=2)} | |")
    for name, stats in copy.get("ceilings", {}).items():
        lines.append(f"| server ceiling: {name} | {fmt(stats)} | | | |")
    return [*lines, ""]


def _targets(results: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, str, str, str]] = []

    def target(what: str, goal: str, measured: str, met: bool | None) -> None:
        rows.append((what, goal, measured, "" if met is None else "yes" if met else "no"))

    for key, (goal, durable_goal) in COPY_GOALS.items():
        if not (copy := results.get("copy", {}).get(key)):
            continue
        what = f"{copy['count']} × {size_text(copy['size'])}"
        if (value := ratio_to_s5cmd(copy)) is not None:
            target(f"{what}, vs s5cmd files/s", f"≥ {goal:.1f}×", f"{value:.2f}×", value >= goal)
        if (durable := ratio_to_s5cmd(copy, tool="s5cmd+fsync")) is not None:
            target(f"{what}, vs s5cmd with its files fsynced", f"≥ {durable_goal:.1f}×" if durable_goal else "(reported)",
                   f"{durable:.2f}×", durable >= durable_goal if durable_goal else None)
        agent, disk = _median(copy["tools"].get("agent", {}), "files_per_s"), copy.get("disk", {}).get("files_per_s")
        if agent and disk:
            target(f"{what}, vs the disk's durable ceiling (written and fsynced, no network)", "(reported)",
                   f"{agent / disk['median']:.2f}× ({agent:.0f} vs {disk['median']:.0f} files/s)", None)
    if (large := results.get("copy", {}).get("large")) and (value := ratio_to_s5cmd(large, "mib_per_s")) is not None:
        target(f"one {size_text(large['size'])} file, vs s5cmd MiB/s", "≥ 0.9×", f"{value:.2f}×", value >= 0.9)
    if (cpu := cpu_per_file_ms(results)) is not None:
        target("client CPU per small file (getrusage, the agent's process; an empty drain's CPU taken off)", "≤ 1.0 ms", f"{cpu:.2f} ms", cpu <= 1.0)
    if cold := results.get("cold_start"):
        value = cold["first_receive"]["median"]
        target("cold start: launch to first receive", "≤ 0.2 s", f"{fmt(cold['first_receive'], 1000)} ms", value <= 0.2)
    for row in results.get("warm", {}).values():
        target(f"warm throughput, {row['count']} × {size_text(row['size'])} (files/s)", "(reported)", fmt(row["files_per_s"]), None)
    if cores := results.get("cores"):
        if "error" in cores:
            target("throughput on one core against two", "(reported)", f"n/a: {cores['error']}", None)
        else:
            value = cores["one"]["median"] / cores["two"]["median"]
            target(f"throughput on one core against two ({cores['count']} × {size_text(cores['size'])})", "(reported)",
                   f"{value:.2f} ({fmt(cores['one'])} vs {fmt(cores['two'])} files/s)", None)
    if growth := results.get("growth"):
        value = growth["end_mb"] / growth["start_mb"]
        target(f"RSS over a {growth['count']}-file drain: at the end against after {growth['warm_files']} files", "flat (≤ 1.1)",
               f"{value:.2f} ({growth['start_mb']:.0f} MB → {growth['end_mb']:.0f} MB, {growth['max_mb']:.0f} MB at most)", value <= 1.1)
    if latency := results.get("latency"):
        p50, p95 = latency["p50"], latency["p95"]
        target(f"latency p50 ({latency['rate']:g}/s for {latency['seconds']:g} s)", "≤ 0.5 s", f"{fmt(p50, 1000)} ms", p50["median"] <= 0.5)
        target("latency p95", "≤ 2 s", f"{fmt(p95, 1000)} ms", p95["median"] <= 2)
    if bucket := results.get("bucket"):
        target(f"bucket size: {bucket['notifications']} notifications, {bucket['others']} vs 0 other objects, {bucket['runs']} alternating runs",
               "≤ 1.1", f"{bucket['ratio']:.2f} ({fmt(bucket['full'], digits=2)} s vs {fmt(bucket['empty'], digits=2)} s)", bucket["ratio"] <= 1.1)
        full, empty = bucket["requests"]["full"], bucket["requests"]["empty"]
        target(f"bucket size: the agent's requests, {bucket['others']} vs 0 other objects", "no listing",
               f"{full['all']} vs {empty['all']}, of which listings {full['listings']} vs {empty['listings']}",
               full["listings"] == empty["listings"] == 0)
        target("bucket size: the server's own GET time for those objects (boto3, one at a time)", "",
               (f"{bucket['server_ratio']:.2f} ({fmt(bucket['server_get_seconds']['full'], digits=2)} s vs "
                f"{fmt(bucket['server_get_seconds']['empty'], digits=2)} s)"), None)
    if idle := results.get("idle"):
        for mode, row in idle["modes"].items():
            if "error" in row:
                target(f"idle, {mode}", "", f"n/a: {row['error']}", None)
                continue
            target(f"idle, {mode}: requests/min", "≤ 3", f"{row['requests_per_min']:.1f}", row["requests_per_min"] <= 3)
            target(f"idle, {mode}: CPU", "< 0.5% of a core", f"{row['cpu_percent']:.2f}%", row["cpu_percent"] < 0.5)
            if mode == "headless":
                target(f"idle, {mode}: RSS", "< 80 MB", f"{row['rss_mb']:.0f} MB", row["rss_mb"] < 80)
            else:  # the RSS target is the headless agent's; the tray's is reported
                target(f"idle, {mode}: RSS", "(reported)", f"{row['rss_mb']:.0f} MB", None)
    if not rows:
        return []
    return ["**Targets**", "", "| target | goal | measured | met |", "|---|---|---|---|", *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)]


def update_doc(table: str, doc: Path = DOC) -> None:
    """Put the table between the markers in docs/performance.md (appended when the markers are missing)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    block = f"{TABLE_START}\n{table}{TABLE_END}"
    if TABLE_START in text and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        text = head + block + rest.split(TABLE_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")


def plot(results: dict[str, Any], path: Path) -> bool:
    """results.png: files/s per tool for each copy workload. An optional extra: skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = list(results.get("copy", {}).items())
    if not panels:
        return False
    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5), squeeze=False)
    for axis, (_key, copy) in zip(axes[0], panels, strict=True):
        rows = {name: row["files_per_s"] for name, row in copy["tools"].items() if "files_per_s" in row}
        names = list(rows)
        medians = [rows[n]["median"] for n in names]
        errors = [[rows[n]["median"] - rows[n]["min"] for n in names], [rows[n]["max"] - rows[n]["median"] for n in names]]
        axis.bar(names, medians, yerr=errors, capsize=4, color=["tab:green" if n == "agent" else "tab:gray" for n in names])
        axis.set_title(f"{copy['count']} × {size_text(copy['size'])}: files/s")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True
