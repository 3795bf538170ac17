"""Ingestion commands of the ``pantau`` CLI: ingest, worker, simulate, analyze, sensors."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import typer
from rich.live import Live
from rich.table import Table

from pantau.cli import app, console, fail, open_database, progress_bar, setup_logging
from pantau.settings import get_settings

logger = logging.getLogger(__name__)

STATUS_STYLE = {"online": "green", "degraded": "yellow", "offline": "red", "unknown": "dim"}


def health_lines(sup, now: float | None = None) -> list[str]:
    """The same summary as /metrics and the admin page: lateness, outcomes, RSS per process."""
    from ingestion import metrics as im

    now = time.time() if now is None else now
    metrics = getattr(sup, "metrics", None)
    lines = []
    if metrics is not None:
        s = im.summarize(metrics.to_dict(), now)

        def sec(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f} s"

        rates = ", ".join(f"{k} {v:.1f}" for k, v in sorted(s["per_minute"].items())) or "none"
        totals = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(s["totals"].items())) or "none"
        reasons = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(s["failed_by_reason"].items()))
        lines.append(
            f"lateness p50 {sec(s['lateness_p50_s'])}, p95 {sec(s['lateness_p95_s'])} "
            f"(last {s['window_minutes']} min) | samples/min: {rates} | total: {totals}"
            + (f" (failed: {reasons})" if reasons else "")
        )
    procs = im.supervisor_status(sup)["processes"]
    mib = [
        f"{p['role']}{p.get('index', '')} {p['pid']} "
        + ("-" if p.get("rss_bytes") is None else f"{p['rss_bytes'] / 2**20:,.0f} MiB")
        for p in procs
    ]
    total = sum(p.get("rss_bytes") or 0 for p in procs) / 2**20
    lines.append(
        f"RSS: {', '.join(mib)} (total {total:,.0f} MiB) | worker restarts {sup.worker_restarts}"
    )
    return lines


def _status_table(sup, started: float) -> Table:
    rows = sup.status()
    w = sup.writer.snapshot()
    up = time.time() - started
    table = Table(
        title=f"Pantau ingestion — {len(rows)} cameras, {sup.n_workers} workers, up {up:.0f}s",
        caption="\n".join(
            [
                *health_lines(sup),
                f"written {w['observations']:,} obs in {w['batches']} batches "
                f"(dupes {w['duplicates']}, retries {w['retries']}, dropped {w['dropped']}, "
                f"pending {w['pending']}, last flush {w['last_flush_ms']} ms)"
                + (f"  last error: {w['last_error']}" if w["last_error"] else ""),
            ]
        ),
        expand=False,
    )
    for col in (
        "camera",
        "proto",
        "status",
        "samples",
        "fail",
        "reconn",
        "last frame",
        "fetch ms",
        "proc ms",
        "reason",
    ):
        table.add_column(col, overflow="fold", max_width=60 if col == "reason" else None)
    now = time.time()
    for r in rows[:60]:
        age = f"{now - r['last_frame_at']:.0f}s ago" if r["last_frame_at"] else "-"
        st = r["status"]
        table.add_row(
            r["code"],
            r["protocol"],
            f"[{STATUS_STYLE.get(st, '')}]{st}[/]" + (" …" if r["busy"] else ""),
            str(r["samples"]),
            str(r["failures"]),
            str(r["reconnects"]),
            age,
            f"{r['last_fetch_ms']:.0f}" if r["last_fetch_ms"] else "-",
            f"{r['last_process_ms']:.0f}" if r["last_process_ms"] else "-",
            r["reason"] or "",
        )
    if len(rows) > 60:
        table.add_row(f"... {len(rows) - 60} more", *[""] * 9)
    return table


@app.command()
def ingest(
    workers: int | None = typer.Option(None, help="Worker processes (default PANTAU_WORKERS)."),
    celery: bool = typer.Option(
        False,
        "--celery",
        help="Scale out: run only the scheduler, enqueueing one fetch task per camera slot on "
        "Celery (Redis at PANTAU_CELERY_BROKER_URL); `pantau worker` processes on any number "
        "of machines fetch and analyse. Run exactly one scheduler (a second one enqueues the "
        "same slots: harmless, but double work).",
    ),
    duration: float = typer.Option(0, help="Stop after this many seconds (0: run until Ctrl+C)."),
    simulate: int | None = typer.Option(
        None,
        help="Also serve this many simulated cameras (default PANTAU_SIMULATE_CAMERAS: 0 here).",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No live table, log lines only."),
) -> None:
    """Sample every enabled camera on its own interval, analyse, and write observations.

    Database: PANTAU_DATABASE_URL (default: SQLite in var/). With --celery the broker is
    PANTAU_CELERY_BROKER_URL and the visibility timeout PANTAU_CELERY_VISIBILITY_TIMEOUT_S."""
    setup_logging()
    settings = get_settings()
    database = open_database(settings)
    if celery:
        _celery_scheduler(settings, database, duration, quiet)
        return
    from ingestion.local import Supervisor, assign_simulated_cameras
    from ingestion.simulator import CameraSimulator

    simulator = None
    if simulate:
        sims = assign_simulated_cameras(database, settings, simulate, settings.simulator_port)
        simulator = CameraSimulator(sims, "127.0.0.1", settings.simulator_port).start()
        console.print(f"Simulating {len(sims)} cameras on {simulator.base_url}")
    sup = Supervisor(settings, database, workers=workers)
    started = time.time()
    sup.start()
    if not sup.slots:
        console.print("[yellow]No enabled camera has a stream URL; nothing to sample.[/]")
    try:
        if quiet or not sys.stderr.isatty():
            while not duration or time.time() - started < duration:
                time.sleep(10)
                w = sup.writer.snapshot()
                online = sum(1 for r in sup.status() if r["status"] == "online")
                logger.info(
                    "%d/%d cameras online, %d observations written; %s",
                    online,
                    len(sup.slots),
                    w["observations"],
                    "; ".join(health_lines(sup)),
                )
        else:
            with Live(_status_table(sup, started), console=console, refresh_per_second=1) as live:
                while not duration or time.time() - started < duration:
                    time.sleep(1)
                    live.update(_status_table(sup, started))
    except KeyboardInterrupt:
        pass
    finally:
        console.print("Stopping: flushing the writer...")
        sup.stop()
        if simulator is not None:
            simulator.stop()
    console.print(f"[green]Done[/]: {sup.writer.stats.observations:,} observations written")


def _celery_scheduler(settings, database, duration: float, quiet: bool) -> None:  # noqa: ANN001
    """`pantau ingest --celery`: the scheduler in a thread, a log line every 10 s."""
    import threading

    from ingestion.celery_scheduler import run_scheduler

    console.print(
        f"[bold]Celery scheduler[/] on {settings.celery_broker_url} "
        f"(database {database.url.split('@')[-1]}; Ctrl+C stops)"
    )
    stats: dict = {}
    stop = threading.Event()
    thread = threading.Thread(
        target=run_scheduler,
        args=(settings, database),
        kwargs={"duration": duration or None, "stop": stop, "stats": stats},
        name="pantau-scheduler",
        daemon=True,
    )
    thread.start()
    try:
        while thread.is_alive():
            thread.join(timeout=10)
            if thread.is_alive():
                logger.info(
                    "scheduler: %d cameras, %d fetch tasks enqueued, %d skipped in backoff, "
                    "%d skipped for lack of worker capacity, %d broker errors",
                    stats.get("cameras", 0),
                    stats.get("enqueued", 0),
                    stats.get("skipped_backoff", 0),
                    stats.get("skipped_overload", 0),
                    stats.get("broker_errors", 0),
                )
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(timeout=10)
    console.print(f"[green]Done[/]: {stats.get('enqueued', 0):,} fetch tasks enqueued")


@app.command()
def worker(
    role: str = typer.Option(
        "all",
        help="all: a fetch worker and the analysis worker process(es); fetch: only camera "
        "fetches (queue pantau.fetch, threads, I/O); analyse: only analysis (queue "
        "pantau.analyse, one process per core). A city may run fetchers and analysers on "
        "different machines.",
    ),
    concurrency: int | None = typer.Option(
        None,
        help="Concurrency of a single --role (threads for fetch, processes for analyse).",
    ),
    fetch_concurrency: int | None = typer.Option(
        None, help="Fetch threads (default PANTAU_CELERY_FETCH_CONCURRENCY, 48)."
    ),
    analyse_concurrency: int | None = typer.Option(
        None,
        help="Analysis processes (default PANTAU_CELERY_ANALYSE_CONCURRENCY: one per core).",
    ),
    queues: str | None = typer.Option(
        None, help="Queues a single --role consumes (default pantau.fetch / pantau.analyse)."
    ),
    name: str | None = typer.Option(
        None, help="Worker name prefix (default ROLE-PID); the host name is appended."
    ),
    loglevel: str = typer.Option(
        "warning", help="Celery log level (info logs a line per task: two per sample)."
    ),
    pool: str | None = typer.Option(
        None,
        help="Analysis pool (default PANTAU_CELERY_ANALYSE_POOL, solo): solo starts one "
        "worker process per analysis process, each consuming pantau.analyse directly; "
        "prefork starts one worker with that many child processes.",
    ),
    prefetch: int | None = typer.Option(
        None,
        help="Analysis tasks a process may hold unacknowledged, the running one included "
        "(default PANTAU_CELERY_ANALYSE_PREFETCH, 1).",
    ),
) -> None:
    """Start Celery workers for scaled-out ingestion (`pantau ingest --celery` schedules).

    Broker: PANTAU_CELERY_BROKER_URL (Redis). Database: PANTAU_DATABASE_URL (PostgreSQL when
    several machines write). Tasks are acknowledged after they finish: a worker that dies
    leaves its tasks to be redone by another after PANTAU_CELERY_VISIBILITY_TIMEOUT_S."""
    from ingestion.celery_worker import ANALYSE_POOLS, ROLES, run_workers, worker_argvs

    settings = get_settings()
    if role not in ROLES:
        raise fail(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "all" and (concurrency or queues):
        raise fail("--concurrency and --queues need a single --role (fetch or analyse)")
    for value in (concurrency, fetch_concurrency, analyse_concurrency):
        if value is not None and value < 1:
            raise fail("concurrency must be at least 1")
    if pool is not None and pool not in ANALYSE_POOLS:
        raise fail(f"unknown pool {pool!r}: use one of {', '.join(ANALYSE_POOLS)}")
    if prefetch is not None and not 1 <= prefetch <= 16:
        raise fail("--prefetch must be between 1 and 16")
    analysis = {"pool": pool, "prefetch": prefetch}
    if role == "all":
        argvs = [
            *worker_argvs(
                settings,
                "fetch",
                concurrency=fetch_concurrency,
                loglevel=loglevel,
                name=f"{name}-fetch" if name else None,
            ),
            *worker_argvs(
                settings,
                "analyse",
                concurrency=analyse_concurrency,
                loglevel=loglevel,
                name=f"{name}-analyse" if name else None,
                **analysis,
            ),
        ]
    else:
        per_role = fetch_concurrency if role == "fetch" else analyse_concurrency
        argvs = worker_argvs(
            settings,
            role,
            concurrency=concurrency or per_role,
            queues=queues,
            loglevel=loglevel,
            name=name,
            **(analysis if role == "analyse" else {}),
        )
    raise typer.Exit(run_workers(argvs))


@app.command()
def simulate(
    cameras: int = typer.Option(12, "--cameras", "-n", min=1, max=5000, help="How many cameras."),
    port: int | None = typer.Option(None, help="Port (default PANTAU_SIMULATOR_PORT)."),
    host: str = typer.Option("127.0.0.1", help="Listen address (loopback by default)."),
    kinds: str = typer.Option(
        "", help="Comma-separated scene kinds to cycle (street,crowd,flood,quiet,video)."
    ),
    faults: str = typer.Option("", help="Faults per camera, e.g. '3=hang,5=garbage'."),
    fps: float = typer.Option(2.0, help="MJPEG frames per second."),
    video: Path | None = typer.Option(None, help="Video file for 'video' cameras."),
) -> None:
    """Serve simulated CCTV cameras (MJPEG and JPEG snapshot endpoints) on loopback."""
    from ingestion.simulator import FAULTS, CameraSimulator, make_cameras

    setup_logging()
    settings = get_settings()
    fault_map: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in faults.split(","))):
        idx, _, mode = part.partition("=")
        if not idx.isdigit() or mode not in FAULTS:
            raise fail(f"bad fault {part!r}: use INDEX=MODE with MODE in {', '.join(FAULTS)}")
        fault_map[int(idx)] = mode
    try:
        cams = make_cameras(
            cameras,
            kinds=[k.strip() for k in kinds.split(",") if k.strip()] or None,
            faults=fault_map,
            fps=fps,
            video=str(video) if video else None,
        )
        sim = CameraSimulator(cams, host, port or settings.simulator_port)
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"[green]{len(cams)} cameras[/] on {sim.base_url}  (list: {sim.base_url}/cameras)"
    )
    for c in cams[:10]:
        console.print(
            f"  {c.index}: {c.kind:7s} {sim.url(c.index, 'mjpeg')}  {sim.url(c.index, 'snapshot')}"
        )
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def _parse_frames(spec: str) -> list[int]:
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "-" in part:
            a, _, b = part.partition("-")
            if not (a.isdigit() and b.isdigit()) or int(b) < int(a):
                raise ValueError(f"bad frame range {part!r}")
            out.extend(range(int(a), int(b) + 1))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ValueError(f"bad frame index {part!r}")
    return sorted(set(out))


@app.command()
def analyze(
    file: Path = typer.Argument(..., help="An image (JPEG/PNG) or a video file."),
    frames: str = typer.Option("0", help="Video frames to analyse, e.g. '0,50,100' or '0-20'."),
    detector: str | None = typer.Option(None, help="auto, mediapipe, hog, blob, blob+hog."),
    config: Path | None = typer.Option(
        None, help="JSON analytics config (rois, lines, flood) as stored on the camera."
    ),
    as_json: bool = typer.Option(True, "--json/--table", help="One JSON object per frame."),
    annotate_dir: Path | None = typer.Option(None, help="Write annotated frames here."),
    burst: bool = typer.Option(
        False, "--burst", help="Analyse the chosen frames as one burst: adds line crossings."
    ),
) -> None:
    """Run the analytics on an image or chosen video frames (check a camera before adding it).

    Each result says how the perspective was calibrated (``calibration``: ``source`` marks from
    the config's ``perspective``, learned from the frames' own blobs, or the default pole
    camera; ``person_px_top`` / ``person_px_bottom``: a person's height in px there).

    One image (or two frames) has no history: people are counted by a detector that needs
    none (MediaPipe when its model is installed, else full-frame HOG; ``count_path``
    ``history-free``). ``--burst`` over evenly spaced video frames adds ``speeds_kmh`` on a
    calibrated camera (``perspective`` marks in ``--config``). With 3 or more frames a detector that needs history (``blob``) first
    learns the background from all of them (temporal median) and then counts each frame as a
    camera would (``count_path`` ``warm``; the motion gate and background carry over)."""
    import cv2

    from analytics.pipeline import Analyser
    from ingestion.sources import CorruptFrame, decode_jpeg

    settings = get_settings()
    if not file.is_file():
        raise fail(f"no such file: {file}")
    try:
        indices = _parse_frames(frames)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    cfg = {}
    if config is not None:
        try:
            cfg = json.loads(config.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise fail(f"cannot read config {config}: {exc}") from exc
    model = settings.mediapipe_model_path
    try:
        analyser = Analyser(
            cfg,
            detector=detector or cfg.get("detector") or settings.detector,
            model_path=str(model) if Path(model).is_file() else None,
            cold_start="history-free",
        )
    except Exception as exc:
        raise fail(f"analytics config rejected: {exc}") from exc
    images: list[tuple[int, object]] = []
    is_image, fps = file.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp", ".webp"}, 0.0
    if is_image:
        try:
            images.append((0, decode_jpeg(file.read_bytes(), settings.frame_max_width)))
        except CorruptFrame as exc:
            raise fail(f"{file}: {exc}") from exc
    else:
        cap = cv2.VideoCapture(str(file))
        if not cap.isOpened():
            raise fail(f"{file}: not a readable image or video")
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        bad = [i for i in indices if total and i >= total]
        if bad:
            raise fail(f"{file} has {total} frames; frame(s) {bad} do not exist")
        pos = -1
        for i in indices:
            if i != pos + 1:
                cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, img = cap.read()
            pos = i
            if not ok:
                raise fail(f"{file}: cannot decode frame {i}")
            from ingestion.sources import downscale

            images.append((i, downscale(img, settings.frame_max_width)))
        cap.release()
    if annotate_dir:
        annotate_dir.mkdir(parents=True, exist_ok=True)
    if len(images) >= 3 and not analyser.warm:
        try:
            analyser.warm_up([img for _, img in images])
        except ValueError as exc:
            raise fail(str(exc)) from exc
    if burst and len(images) > 1:
        t0 = time.perf_counter()
        try:
            steps = {b - a for (a, _), (b, _) in zip(images, images[1:], strict=False)}
            interval = (  # evenly spaced video frames: speeds in km/h when calibrated
                steps.pop() / fps if len(steps) == 1 and not is_image and fps > 0 else None
            )
            res = analyser.analyse_burst(
                [img for _, img in images], ts=None, frame_interval_s=interval
            )
        except ValueError as exc:
            raise fail(str(exc)) from exc
        print(
            json.dumps(
                {
                    "frames": [i for i, _ in images],
                    "people": res.people,
                    "vehicles": dict(res.vehicles),
                    "line_crossings": res.line_crossings,
                    "speeds_kmh": res.speeds_kmh,
                    "max_speed_kmh": res.max_speed_kmh,
                    "analyser": res.analyser,
                    "counts_known": res.counts_known,
                    "count_path": res.count_path,
                    "calibration": analyser.calibration(
                        int(images[0][1].shape[1]), int(images[0][1].shape[0])
                    ),
                    "ms": round((time.perf_counter() - t0) * 1000, 1),
                }
            )
        )
        return
    table = (
        None
        if as_json
        else Table("frame", "people", "vehicles", "motion", "water", "analyser", "counted", "ms")
    )
    for i, img in images:
        t0 = time.perf_counter()
        res = analyser.analyse(img, ts=None)
        ms = (time.perf_counter() - t0) * 1000
        out = {
            "frame": i,
            "width": int(img.shape[1]),
            "height": int(img.shape[0]),
            "people": res.people,
            "vehicles": dict(res.vehicles),
            "vehicles_total": res.vehicles_total,
            "bicycles": res.bicycles,
            "motion": res.motion_ratio,
            "water_coverage": res.water_coverage,
            "water_confidence": res.water_confidence,
            "reused": res.reused_from_previous,
            "line_crossings": res.line_crossings,
            "analyser": res.analyser,
            "counts_known": res.counts_known,
            "count_path": res.count_path,
            "calibration": analyser.calibration(int(img.shape[1]), int(img.shape[0])),
            "ms": round(ms, 1),
        }
        if annotate_dir:
            from analytics.annotate import annotate

            cv2.imwrite(
                str(annotate_dir / f"{file.stem}_{i:06d}.jpg"), annotate(img, res, analyser.config)
            )
        if table is None:
            print(json.dumps(out), flush=True)
        else:
            table.add_row(
                str(i),
                str(res.people) if res.counts_known else "?",
                str(res.vehicles_total) if res.counts_known else "?",
                f"{res.motion_ratio:.3f}",
                "-" if res.water_coverage is None else f"{res.water_coverage:.2f}",
                res.analyser,
                res.count_path,
                f"{ms:.0f}",
            )
    if table is not None:
        console.print(table)
        _, last = images[-1]
        cal = analyser.calibration(int(last.shape[1]), int(last.shape[0]))
        source = {
            "marks": "calibration marks",
            "learned": f"learned from {cal['observations']} observations",
            "default": "default (pole camera)",
        }[cal["source"]]
        console.print(
            f"perspective: {source}; a person is {cal['person_px_top']:.0f} px tall on the top "
            f"row, {cal['person_px_bottom']:.0f} px on the bottom row"
        )


@app.command()
def sensors(
    duration: float = typer.Option(0, help="Stop after this many seconds (0: until Ctrl+C)."),
) -> None:
    """Subscribe to IoT sensor readings over MQTT (PANTAU_MQTT_URL, PANTAU_MQTT_TOPIC)."""
    from ingestion.sensors import SensorSubscriber
    from ingestion.spool import SpoolInUse

    setup_logging()
    settings = get_settings()
    database = open_database(settings)
    try:
        sub = SensorSubscriber(settings, database)
    except SpoolInUse as exc:  # another `pantau sensors` / `pantau run` has this client id
        raise fail(str(exc)) from exc
    try:
        sub.start()
    except OSError as exc:
        raise fail(f"cannot reach the MQTT broker {settings.mqtt_url}: {exc}") from exc
    console.print(f"Listening on {settings.mqtt_url} topic {settings.mqtt_topic!r} (Ctrl+C stops)")
    started = time.time()
    try:
        while not duration or time.time() - started < duration:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sub.stop()
    console.print(f"{sub.stats}")


__all__ = ["progress_bar"]
