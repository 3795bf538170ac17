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
