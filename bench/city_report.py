"""The table and the goal checks that ``bench_city.py`` prints from its JSON document."""

from __future__ import annotations

from typing import Any


# --------------------------------------------------------------------------------------------
# report
def _fmt(v: Any, spec: str = ",.1f") -> str:
    return "-" if v is None else format(v, spec)


def report(doc: dict[str, Any]) -> str:
    lines = []
    floor = doc.get("decode_floor", {})
    fl = floor.get("mix_cpu_ms_mean")
    head = (
        "| path | cameras | stored/due healthy | lateness p50 / p95 / max (s) | samples/s | "
        "peak RSS tree (MB) | peak RSS process (MB) | CPU ms/sample | x decode | farm CPU | load |"
    )
    lines += [head, "|" + "---|" * 11]
    for name in ("local", "celery"):
        r = doc["phases"].get(name)
        if not r or "error" in r:
            if r:
                lines.append(f"| {name} | error: {r['error']} |" + " |" * 9)
            continue
        lat = r["lateness_visible_s"] or {}
        biggest = max(r["process_rss_peak"], key=lambda p: p["peak_rss_mb"], default=None)
        lines.append(
            f"| {name} | {r['cameras']:,} | {_fmt(r['stored_pct'], '.2f')}% ({r['stored_healthy']:,}/"
            f"{r['due_healthy']:,}) | {_fmt(lat.get('p50'))} / {_fmt(lat.get('p95'))} / "
            f"{_fmt(lat.get('max'))} | {r['stored_per_s']:.1f} | {r['tree_rss_peak_mb']:,.0f} | "
            + (f"{biggest['peak_rss_mb']:,.0f} ({biggest['label']})" if biggest else "-")
            + f" | {r['cpu_ms_per_sample']:.2f} | "
            f"{_fmt(r['cpu_ms_per_sample'] / fl if fl else None, '.2f')} | "
            f"{r['farm_cores'] * 100:.1f}% of a core | {r['load']['mean']} (max {r['load']['max']}) |"
            + (f" ABORTED: {r['aborted']}" if r.get("aborted") else "")
        )
    ratio = doc["phases"].get("ratio")
    if ratio and "error" not in ratio and "p1" in ratio:
        lines.append("")
        lines.append(
            f"Throughput on a saturated load ({ratio['cameras']:,} healthy cameras, "
            f"{ratio['demand_per_s']:.0f} samples/s asked, {ratio['path']} path): "
            f"1 process {ratio['p1']['stored_per_s']:.1f}/s (load {ratio['p1']['load']['mean']}, "
            f"other processes {ratio['p1'].get('others_cores')} cores), "
            f"2 processes {ratio['p2']['stored_per_s']:.1f}/s (load {ratio['p2']['load']['mean']}, "
            f"other processes {ratio['p2'].get('others_cores')} cores)"
            f" -> ratio {_fmt(ratio.get('ratio'), '.2f')}x"
            + (
                f"; warm pass: {ratio['warm_pass']['warm']:,}/{ratio['warm_pass']['cameras']:,} "
                f"cameras warm in {ratio['warm_pass']['seconds']:.0f} s, fetch threads "
                f"{ratio.get('fetch_threads')}"
                if ratio.get("warm_pass")
                else ""
            )
        )
    elif ratio and "error" in ratio:
        lines.append(f"\nratio: error: {ratio['error']}")
    lines.append("")
    lines.append(
        f"JPEG-decode floor (cv2.imdecode, {floor.get('size')}): mix {fl} ms CPU, "
        + ", ".join(
            f"{k} {v['cpu_ms_mean']} ms ({v['kb_mean']} kB)"
            for k, v in floor.items()
            if isinstance(v, dict)
        )
        + (
            f"; after the run {doc['decode_floor_after'].get('mix_cpu_ms_mean')} ms"
            if doc.get("decode_floor_after")
            else ""
        )
    )
    lines.append(
        "Lateness = first seen in the database (polled every 1 s) - schedule slot, healthy "
        "cameras, slots in the window."
    )
    for name in ("local", "celery"):
        r = doc["phases"].get(name)
        if r and "error" not in r:
            lines.append(
                f"{name}: {r.get('unknown_people_in_window', 0):,} of the window's healthy samples "
                f"stored with people unknown (cold state); {r.get('healthy_cameras_short', 0):,} "
                f"healthy cameras short of samples; camera status at the end "
                f"{r.get('camera_status_end')}"
            )
        if r and r.get("per_minute"):
            lines.append(
                f"{name} per minute of the window (stored %, lateness p95 s): "
                + ", ".join(
                    f"{m['stored_pct']:.0f}%/{_fmt(m['lateness_p95_s'], '.0f')}"
                    for m in r["per_minute"]
                    if m["stored_pct"] is not None
                )
            )
        if r and r.get("cpu_ms_per_sample_by_process"):
            lines.append(
                f"{name}: CPU ms per stored sample by process: "
                + ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_sample_by_process"].items())
            )
        if r and r.get("lateness_frame_s"):
            f = r["lateness_frame_s"]
            lines.append(
                f"{name}: frame time - slot p50 {f['p50']} s, p95 {f['p95']} s, max {f['max']} s"
            )
    for name in ("local", "celery"):
        fw = (doc["phases"].get(name) or {}).get("decode_floor_in_window")
        if fw:
            lines.append(
                f"{name}: the same floor measured in the middle of its window (same JPEGs, under "
                f"the run's own load, load {fw.get('load')}): mix {fw.get('mix_cpu_ms_mean')} ms"
            )
    lines += ["", goals(doc)]
    return "\n".join(lines)


def goals(doc: dict[str, Any]) -> str:
    out = ["Goals (issue 9):"]
    fl = doc.get("decode_floor", {}).get("mix_cpu_ms_mean")
    for name in ("local", "celery"):
        r = doc["phases"].get(name)
        if not r or "error" in r:
            continue
        lat = (r["lateness_visible_s"] or {}).get("p95")
        checks = [
            ("lateness p95 < 60 s", lat is not None and lat < 60, f"{_fmt(lat)} s"),
            (
                "stored >= 99.5 %",
                r["stored_pct"] is not None and r["stored_pct"] >= 99.5,
                f"{_fmt(r['stored_pct'], '.2f')} %",
            ),
            (
                "ingestion RSS <= 2 GB",
                r["tree_rss_peak_mb"] <= 2000,
                f"{r['tree_rss_peak_mb']:,.0f} MB",
            ),
        ]
        fw = (r.get("decode_floor_in_window") or {}).get("mix_cpu_ms_mean")
        if fw:  # the floor measured in the same run, under the same load (its middle)
            x = r["cpu_ms_per_sample"] / fw
            idle = f", {r['cpu_ms_per_sample'] / fl:.2f}x the idle box's {fl} ms" if fl else ""
            checks.append(
                ("CPU/sample <= 2x decode", x <= 2.0, f"{x:.2f}x the window's {fw} ms{idle}")
            )
        elif fl:
            x = r["cpu_ms_per_sample"] / fl
            checks.append(("CPU/sample <= 2x decode", x <= 2.0, f"{x:.2f}x"))
        out.append(
            f"  {name}: "
            + "; ".join(f"{label}: {val} {'PASS' if ok else 'FAIL'}" for label, ok, val in checks)
        )
    ratio = doc["phases"].get("ratio")
    if ratio and ratio.get("ratio") is not None:
        ok = ratio["ratio"] >= 1.8
        out.append(f"  ratio 1->2 >= 1.8x: {ratio['ratio']:.2f}x {'PASS' if ok else 'FAIL'}")
    return "\n".join(out)
