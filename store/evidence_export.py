"""Evidence packages for a hearing (*sidang yustisi*): one ZIP per evidence item.

Contents::

    files/clip.mp4 ...        the item's recorded files, byte for byte
    files/alert-frame.jpg     the frame kept when the linked alert opened (if any)
    summary.html              a readable summary, Indonesian with English
    manifest.json             every file above with its size and SHA-256, plus the item, the
                              camera, the location, the alert, the times and the custody log

``verify_package`` recomputes every file's SHA-256 against the manifest and fails on a file
changed, missing or added. The manifest's own SHA-256 is written to the custody log when the
package is made, so a package can also be matched to Pantau's record of it.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pantau.settings import Settings
from store.evidence import EvidenceError, custody, custody_rows, file_path, get_item, sha256_file
from store.models import Alert, CustodyAction, EvidenceItem

FORMAT = "pantau-evidence/1"
MANIFEST = "manifest.json"
SUMMARY = "summary.html"
MAX_MANIFEST_BYTES = 5_000_000


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat(timespec="seconds") if ts else None


def _local(ts: datetime | None, tz: str) -> str:
    if ts is None:
        return "—"
    return ts.astimezone(ZoneInfo(tz)).strftime("%d-%m-%Y %H:%M:%S") + f" ({tz})"


def _alert_dict(alert: Alert | None) -> dict[str, Any] | None:
    if alert is None:
        return None
    return {
        "id": alert.id, "rule": alert.rule, "title": alert.title, "severity": alert.severity,
        "level": alert.level, "value": alert.value, "started_at": _iso(alert.started_at),
        "ended_at": _iso(alert.ended_at), "frame_sha256": alert.evidence_sha256,
    }  # fmt: skip


def _summary_html(m: dict[str, Any], tz: str) -> str:
    it, e = m["item"], html.escape

    def row(id_: str, en: str, value: Any) -> str:
        return f"<tr><th>{e(id_)}<br><small>{e(en)}</small></th><td>{e(str(value if value is not None else '—'))}</td></tr>"

    def dt(key: str) -> str:
        v = it.get(key)
        return _local(datetime.fromisoformat(v), tz) if v else "—"

    rows = [
        row("Nomor bukti", "Evidence number", it["id"]),
        row("Kamera", "Camera", f"{m['camera']['code']} — {m['camera']['name']}"),
        row("Lokasi", "Location", m["camera"]["location"]),
        row("Kecamatan", "District", m["camera"]["kecamatan"]),
        row("Koordinat", "Coordinates", f"{m['camera']['lat']}, {m['camera']['lon']}"),
        row("Jenis aliran", "Stream kind", it["stream_kind"]),
        row("Cara rekam", "Recording method", it["method"]),
        row("Mulai rekam", "Recording started", dt("started_at")),
        row("Selesai rekam", "Recording ended", dt("ended_at")),
        row("Durasi klip (detik)", "Clip duration (s)", it["stream_duration_s"]),
        row("Pra-rekam (detik)", "Pre-roll (s)", it["preroll_seconds"]),
        row("Diminta (detik)", "Requested (s)", it["requested_seconds"]),
        row("Status", "Status", it["status"] + (f" — {it['reason']}" if it["reason"] else "")),
        row("Dimulai oleh", "Started by", f"{it['started_by']} ({it['trigger']})"),
        row("Perkara", "Case", it["case_ref"] if it["held_for_case"] else None),
        row("Dibuat paket", "Package made", _local(datetime.fromisoformat(m["exported_at"]), tz)
            + f" — {m['exported_by']}"),
    ]  # fmt: skip
    if m["alert"]:
        a = m["alert"]
        rows.append(
            row("Peringatan", "Alert", f"#{a['id']} {a['title']} ({a['level'] or a['severity']})")
        )
        rows.append(
            row(
                "Peringatan mulai",
                "Alert started",
                _local(datetime.fromisoformat(a["started_at"]), tz),
            )
        )
    files = "".join(
        f"<tr><td>{e(f['name'])}</td><td>{e(f['kind'])}</td><td>{f['bytes']:,} B</td>"
        f"<td><code>{e(f['sha256'])}</code></td></tr>"
        for f in m["files"]
    )
    chain = "".join(
        f"<tr><td>{e(_local(datetime.fromisoformat(c['at']), tz))}</td><td>{e(c['action'])}</td>"
        f"<td>{e(c['actor'])}</td></tr>"
        for c in m["custody"]
    )
    return f"""<!doctype html><html lang="id"><meta charset="utf-8">
<title>Bukti rekaman CCTV #{it["id"]} / CCTV evidence #{it["id"]}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}th{{text-align:left;vertical-align:top;padding-right:1em}}
td,th{{border-bottom:1px solid #ccc;padding:.3em}}table{{border-collapse:collapse;width:100%}}small{{color:#555;font-weight:normal}}code{{font-size:.8em;word-break:break-all}}</style>
<h1>Bukti rekaman CCTV #{it["id"]}<br><small>CCTV recording evidence #{it["id"]}</small></h1>
<table>{"".join(rows)}</table>
<h2>Berkas dan SHA-256<br><small>Files and SHA-256</small></h2>
<table><tr><th>Berkas / File</th><th>Jenis / Kind</th><th>Ukuran / Size</th><th>SHA-256</th></tr>{files}</table>
<p>Periksa: <code>pantau evidence verify PAKET.zip</code>, atau hitung SHA-256 tiap berkas (mis. <code>sha256sum</code>)
dan bandingkan dengan tabel ini dan <code>manifest.json</code>.<br><small>Check: run the command above, or compute each
file's SHA-256 and compare it with this table and manifest.json.</small></p>
<h2>Rantai penguasaan<br><small>Chain of custody</small></h2>
<table><tr><th>Waktu / Time</th><th>Tindakan / Action</th><th>Oleh / By</th></tr>{chain}</table>
</html>
"""


@dataclass(frozen=True)
class Package:
    manifest_sha256: str
    files: int
    bytes: int


def write_package(
    session: Session,
    settings: Settings,
    item_id: int,
    out: IO[bytes] | Path,
    *,
    actor: str,
    action: str = CustodyAction.EXPORTED,
    ip: str | None = None,
) -> Package:
    """Write the package of ``item_id`` to ``out`` and log it (custody + audit)."""
    item: EvidenceItem = get_item(session, item_id)
    if item.status in ("queued", "recording"):
        raise EvidenceError(f"evidence {item_id} is still {item.status}")
    live = [f for f in item.files if f.deleted_at is None]
    if not live:
        raise EvidenceError(f"evidence {item_id} has no files (pruned or failed)")
    entries: list[tuple[str, Path, dict[str, Any]]] = []
    for f in live:
        path = file_path(settings, f)
        actual = sha256_file(path) if path.is_file() else None
        if actual != f.sha256:
            raise EvidenceError(
                f"{f.path}: "
                + ("missing" if actual is None else "SHA-256 differs from the record")
                + " — not exported"
            )
        entries.append((f"files/{path.name}", path, {"kind": f.kind, "mime": f.mime,
                                                      "duration_s": f.duration_s}))  # fmt: skip
    alert = session.get(Alert, item.alert_id) if item.alert_id else None
    if alert is not None and alert.evidence_path:
        frame = (settings.evidence_dir / alert.evidence_path).resolve()
        if frame.is_relative_to(settings.evidence_dir.resolve()) and frame.is_file():
            entries.append(("files/alert-frame.jpg", frame, {"kind": "frame", "mime": "image/jpeg",
                                                               "recorded_sha256": alert.evidence_sha256}))  # fmt: skip
    now = datetime.now(UTC)
    tz = settings.timezone
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "item": {
            "id": item.id, "status": item.status, "reason": item.reason, "trigger": item.trigger,
            "started_by": item.started_by, "stream_kind": item.stream_kind, "method": item.method,
            "requested_seconds": item.requested_seconds, "preroll_seconds": item.preroll_seconds,
            "created_at": _iso(item.created_at), "started_at": _iso(item.started_at),
            "ended_at": _iso(item.ended_at), "stream_start_s": item.stream_start_s,
            "stream_duration_s": item.stream_duration_s, "frames": item.frames,
            "held_for_case": item.held_for_case, "case_ref": item.case_ref,
        },
        "camera": {"code": item.camera_code, "name": item.camera_name, "kecamatan": item.kecamatan,
                   "location": item.location, "lat": item.lat, "lon": item.lon},
        "alert": _alert_dict(alert),
        "timezone": tz,
        "exported_at": _iso(now),
        "exported_by": actor,
        "files": [],
        "custody": [
            {"at": _iso(c.at), "action": c.action, "actor": c.actor, "detail": c.detail}
            for c in custody_rows(session, item.id)
        ],
    }  # fmt: skip
    for name, path, meta in entries:
        manifest["files"].append({"name": name, "bytes": path.stat().st_size,
                                  "sha256": sha256_file(path), **meta})  # fmt: skip
    summary = _summary_html(manifest, tz).encode()
    manifest["files"].append({"name": SUMMARY, "bytes": len(summary), "kind": "summary",
                              "mime": "text/html", "sha256": hashlib.sha256(summary).hexdigest()})  # fmt: skip
    mbytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    msha = hashlib.sha256(mbytes).hexdigest()
    # clips are compressed already: stored, not deflated
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name, path, _ in entries:
            z.write(path, name)
        z.writestr(SUMMARY, summary, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr(MANIFEST, mbytes, compress_type=zipfile.ZIP_DEFLATED)
    total = sum(f["bytes"] for f in manifest["files"]) + len(mbytes)
    custody(session, item.id, action, actor, ip=ip, audit_too=True,
            detail={"manifest_sha256": msha, "files": len(manifest["files"]), "bytes": total})  # fmt: skip
    return Package(manifest_sha256=msha, files=len(manifest["files"]), bytes=total)


def package_bytes(
    session: Session, settings: Settings, item_id: int, **kw: Any
) -> tuple[bytes, Package]:
    buf = io.BytesIO()
    pkg = write_package(session, settings, item_id, buf, **kw)
    return buf.getvalue(), pkg


@dataclass
class Verification:
    ok: bool
    problems: list[str]
    checked: int
    manifest_sha256: str | None
    item_id: int | None


def verify_package(path: Path | IO[bytes]) -> Verification:
    """Check a package: every file the manifest lists is there with its SHA-256 and size, and
    nothing else is in the ZIP."""
    problems: list[str] = []
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return Verification(False, [f"not a readable ZIP: {exc}"], 0, None, None)
    with z:
        names = [i.filename for i in z.infolist() if not i.is_dir()]
        if MANIFEST not in names:
            return Verification(False, ["manifest.json missing"], 0, None, None)
        info = z.getinfo(MANIFEST)
        if info.file_size > MAX_MANIFEST_BYTES:
            return Verification(False, ["manifest.json too large"], 0, None, None)
        raw = z.read(MANIFEST)
        msha = hashlib.sha256(raw).hexdigest()
        try:
            manifest = json.loads(raw)
            files = manifest["files"]
            item_id = int(manifest["item"]["id"])
            if manifest.get("format") != FORMAT:
                problems.append(f"unknown format {manifest.get('format')!r}")
        except (ValueError, KeyError, TypeError) as exc:
            return Verification(False, [f"manifest.json unreadable: {exc}"], 0, msha, None)
        listed = set()
        for f in files:
            name = str(f.get("name"))
            listed.add(name)
            if name not in names:
                problems.append(f"{name}: listed in the manifest, missing from the package")
                continue
            h, size = hashlib.sha256(), 0
            with z.open(name) as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
                    size += len(block)
            if h.hexdigest() != f.get("sha256"):
                problems.append(f"{name}: SHA-256 {h.hexdigest()} differs from the manifest")
            elif size != f.get("bytes"):
                problems.append(f"{name}: {size} bytes, the manifest says {f.get('bytes')}")
        for extra in sorted(set(names) - listed - {MANIFEST}):
            problems.append(f"{extra}: in the package but not in the manifest")
    return Verification(not problems, problems, len(listed), msha, item_id)
