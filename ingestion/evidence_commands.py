"""``pantau evidence record | list | show | export | verify | hold | release | prune | serve``."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from pantau.cli import app, console, fail, open_database, setup_logging
from pantau.settings import get_settings

evidence_app = typer.Typer(
    help="Recorded evidence: clips with SHA-256, chain of custody, packages for a hearing.",
    no_args_is_help=True,
)
app.add_typer(evidence_app, name="evidence")


def _actor() -> str:
    return f"cli:{os.environ.get('USER') or os.environ.get('LOGNAME') or 'unknown'}"


@evidence_app.command("record")
def record_cmd(
    code: str = typer.Argument(..., help="Camera code."),
    seconds: int = typer.Option(30, "--seconds", "-s", help="Length of the clip (s)."),
) -> None:
    """Record a clip from a camera now; prints the new evidence id (then waits until done)."""
    from sqlalchemy import select

    from ingestion.evidence_recorder import claim, record_item
    from store.evidence import EvidenceError, create_item
    from store.models import Camera, EvidenceTrigger

    setup_logging()
    settings = get_settings()
    db = open_database(settings)
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == code))
        if cam is None:
            raise fail(f"no camera {code!r} (pantau cameras list)", 2)
        try:
            item = create_item(s, cam, seconds, trigger=EvidenceTrigger.CLI,
                               started_by=_actor(), settings=settings)  # fmt: skip
        except EvidenceError as exc:
            raise fail(str(exc), 2) from None
        item_id = item.id
    print(item_id, flush=True)
    if not claim(db, settings, item_id):
        console.print(
            f"[yellow]{settings.evidence_max_concurrent} recordings are running "
            "(PANTAU_EVIDENCE_MAX_CONCURRENT): queued; the recorder service will record it[/]"
        )
        return
    console.print(f"recording {code} for {seconds} s ...")
    item = record_item(db, settings, item_id)
    colour = {"complete": "green", "partial": "yellow"}.get(item.status, "red")
    console.print(f"[{colour}]evidence {item_id}: {item.status}[/] {item.reason or ''}")
    for f in item.files:
        console.print(f"  {f.kind:<7} {f.bytes:>11,} B  sha256 {f.sha256}  {f.path}")
    if item.status == "failed":
        raise typer.Exit(1)


@evidence_app.command("list")
def list_cmd(limit: int = typer.Option(50, help="Newest first, this many.")) -> None:
    """Evidence items: id, time, camera, status, size, started by, hold."""
    from store.evidence import list_items

    db = open_database(get_settings())
    with db.session() as s:
        for r in list_items(s, limit=limit):
            hold = f"HOLD {r.case_ref}" if r.held_for_case else ("pruned" if r.pruned else "")
            dur = f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"
            print(f"{r.id:>6} {r.created_at:%Y-%m-%d %H:%M:%S}Z {r.camera_code:<16} {r.status:<9} "
                  f"{dur:>7} {r.bytes_total / 1e6:8.2f}MB {r.started_by:<20} {hold}")  # fmt: skip


@evidence_app.command("export")
def export_cmd(
    item_id: int = typer.Argument(..., help="Evidence id."),
    out: Path = typer.Option(..., "--out", "-o", help="ZIP file to write."),
) -> None:
    """Write the package for a hearing: files, manifest.json (SHA-256 of each), summary.html."""
    from store.evidence import EvidenceError
    from store.evidence_export import write_package

    settings = get_settings()
    db = open_database(settings)
    if out.exists():
        raise fail(f"{out} exists; choose another name (nothing was written)", 2)
    tmp = out.with_name(out.name + ".part")
    try:
        with db.session() as s, tmp.open("wb") as fh:
            pkg = write_package(s, settings, item_id, fh, actor=_actor())
    except EvidenceError as exc:
        tmp.unlink(missing_ok=True)
        raise fail(str(exc), 2) from None
    tmp.replace(out)
    console.print(f"[green]{out}[/]: {pkg.files} files, {pkg.bytes:,} bytes")
    print(f"manifest sha256 {pkg.manifest_sha256}")


@evidence_app.command("verify")
def verify_cmd(package: Path = typer.Argument(..., help="A package made by export.")) -> None:
    """Check every file of a package against its manifest (exit 1 when anything differs)."""
    from store.evidence_export import verify_package

    result = verify_package(package)
    for p in result.problems:
        console.print(f"[red]{p}[/]")
    if not result.ok:
        raise fail(f"{package}: does NOT verify ({len(result.problems)} problem(s))", 1)
    print(f"OK: {result.checked} files match manifest.json (evidence {result.item_id}); "
          f"manifest sha256 {result.manifest_sha256}")  # fmt: skip


@evidence_app.command("hold")
def hold_cmd(
    item_id: int = typer.Argument(...),
    case: str = typer.Option(..., "--case", help="Case reference, e.g. the hearing's number."),
) -> None:
    """Hold an item for a case: retention and the quota never prune it."""
    from store.evidence import EvidenceError, hold

    db = open_database(get_settings())
    try:
        with db.session() as s:
            hold(s, item_id, case, _actor())
    except EvidenceError as exc:
        raise fail(str(exc), 2) from None
    console.print(f"[green]evidence {item_id} held for {case}[/]")


@evidence_app.command("release")
def release_cmd(item_id: int = typer.Argument(...)) -> None:
    """Release a hold (the item is pruned again like any other when its time comes)."""
    from store.evidence import EvidenceError, release

    db = open_database(get_settings())
    try:
        with db.session() as s:
            release(s, item_id, _actor())
    except EvidenceError as exc:
        raise fail(str(exc), 2) from None
    console.print(f"evidence {item_id} released")


@evidence_app.command("prune")
def prune_cmd() -> None:
    """Apply PANTAU_EVIDENCE_RETENTION_DAYS and PANTAU_EVIDENCE_QUOTA_MB now."""
    from store.evidence import prune

    settings = get_settings()
    r = prune(open_database(settings), settings)
    console.print(f"pruned {len(r.by_retention)} by retention, {len(r.by_quota)} by quota, "
                  f"{r.freed_bytes / 1e6:.1f} MB freed; {r.held_skipped} held item(s) kept")  # fmt: skip
    if r.over_quota_bytes:
        console.print(
            f"[yellow]still {r.over_quota_bytes / 1e6:.1f} MB over the quota (held items)[/]"
        )


@evidence_app.command("serve")
def serve_cmd() -> None:
    """Run the recorder service alone (queued recordings, pre-roll, pruning); `pantau run`
    runs it itself."""
    import signal
    import threading

    from ingestion.evidence_recorder import RecorderService

    setup_logging()
    settings = get_settings()
    svc = RecorderService(settings, open_database(settings)).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    console.print("evidence recorder running (Ctrl+C to stop)")
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        svc.stop()
