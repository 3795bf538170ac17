"""CLI commands of the store: ``pantau import areas`` (kecamatan/kelurahan boundaries)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from pantau.cli import console, fail, get_settings, import_app, open_database, progress_bar

logger = logging.getLogger(__name__)


@import_app.command("areas")
def import_areas_cmd(
    file: Path = typer.Argument(
        ..., help="GeoJSON FeatureCollection of kecamatan/kelurahan polygons (data/README.md)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only, write nothing."),
) -> None:
    """Import district boundaries: replaces the level(s) in the file, then assigns every
    camera, incident, complaint and sensor to its kecamatan/kelurahan. All or nothing."""
    from store.areas import AreasImportError, read_areas_file, store_areas

    try:
        features = read_areas_file(file)
    except AreasImportError as exc:
        raise fail(f"{file}: {exc}") from exc
    levels = sorted({f.level for f in features})
    if dry_run:
        console.print(
            f"[green]{len(features)} polygons are valid[/] ({', '.join(levels)}; nothing written)"
        )
        return
    database = open_database(get_settings())
    with progress_bar() as bar, database.session() as session:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = store_areas(session, features, progress=report)
    for level, n in summary.levels.items():
        console.print(f"[green]{n} {level} polygons imported[/] (the previous {level} replaced)")
    for table, n in summary.reassigned.items():
        inside = summary.located.get(table, 0)
        console.print(f"  {table}: {n:,} rows reassigned, {inside:,} inside a kecamatan polygon")


# --------------------------------------------------------------------------------------------
# SOP checklists of the alert workflow (store.alert_sop)
sop_app = typer.Typer(
    help="SOP checklists per alert kind: show them, load a JSON file.", no_args_is_help=True
)


def _register_sop() -> None:
    from pantau.cli import app

    app.add_typer(sop_app, name="sop")


_register_sop()


@sop_app.command("show")
def sop_show(
    kind: str = typer.Argument("", help="An alert kind (Alert.rule); empty: all."),
) -> None:
    """Print the steps each alert kind uses now (the database's, else data/sop_templates.json)."""
    from sqlalchemy import select

    from store.alert_sop import DEFAULTS_FILE, _defaults, steps_for
    from store.models import SopTemplate

    database = open_database(get_settings())
    with database.session() as s:
        kinds = set(_defaults(DEFAULTS_FILE)) | set(s.scalars(select(SopTemplate.kind)))
        for k in sorted(kinds if not kind else {kind}):
            console.print(f"[bold]{k}[/]")
            for i, step in enumerate(steps_for(s, k), 1):
                console.print(f"  {i}. {step.key}: {step.text_id} / {step.text_en}", markup=False)


@sop_app.command("load")
def sop_load(
    file: Path = typer.Argument(..., help="JSON like data/sop_templates.json: kind -> steps."),
) -> None:
    """Store the SOP steps of every kind in FILE (validated first; all or nothing). Ticks on
    existing alerts keep their step keys."""
    from store.alert_sop import SopError, load_file

    database = open_database(get_settings())
    try:
        with database.session() as s:
            done = load_file(s, file, who="cli")
    except (OSError, ValueError, SopError) as exc:
        raise fail(f"{file}: {exc}") from exc
    for kind, n in sorted(done.items()):
        console.print(f"[green]{kind}[/]: {n} steps")
