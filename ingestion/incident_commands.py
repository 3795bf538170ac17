"""``pantau import incidents FILE``: an agency's incident file (CSV/XLSX), all rows or none."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from pantau.cli import console, fail, import_app, open_database
from pantau.settings import get_settings

logger = logging.getLogger(__name__)


@import_app.command("incidents")
def import_incidents_cmd(
    file: Path = typer.Argument(..., help="CSV or XLSX incident file (see data/README.md)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only, write nothing."),
) -> None:
    """Import incidents of police, fire, Satpol PP... rooms; idempotent on (source,
    external_id). One bad row rejects the file (row, column, value, why); nothing is written."""
    from ingestion.incident_import import IncidentFileError, import_incidents

    settings = get_settings()
    actor = f"cli:{os.environ.get('USER') or os.environ.get('LOGNAME') or 'unknown'}"
    try:
        if dry_run:
            done = import_incidents(
                None,
                file,
                actor=actor,
                bounds=settings.city_bounds,
                dry_run=True,
            )
            console.print(f"[green]{done.rows} incident rows are valid[/] (nothing written)")
            return
        database = open_database(settings)
        with database.session() as session:
            done = import_incidents(session, file, actor=actor, bounds=settings.city_bounds)
    except IncidentFileError as exc:
        raise fail(f"{file}: {exc}") from exc
    res = done.result
    assert res is not None
    console.print(
        f"[green]Imported {done.rows} incident rows[/]: {res.inserted} inserted, "
        f"{res.updated} updated, {res.unchanged} unchanged"
    )
