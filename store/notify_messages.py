"""The words of a notification: Indonesian text and the JSON payload of an alert event.

Built once, when the outbox row is written, and stored in it: every retry sends the same bytes
(the same webhook signature), and the admin page shows exactly what was sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from store.models import Camera, Opd, Sensor

MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
ZONE_LABEL = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA"}
ZONE_LABEL |= {"Asia/Jayapura": "WIT"}

EVENT_LABEL = {
    "alert.opened": "Peringatan baru",
    "alert.escalated": "Peringatan naik tingkat",
    "alert.deescalated": "Peringatan turun tingkat",
    "alert.closed": "Peringatan berakhir",
    "alert.status": "Status peringatan berubah",
    "alert.assigned": "Peringatan ditugaskan",
    "test": "Pesan uji",
}
RULE_LABEL = {
    "flood_coverage": "Genangan air (kamera)",
    "crowd_density": "Kerumunan",
    "camera_offline": "Kamera mati",
    "sensor_level": "Tinggi muka air (sensor)",
    "complaint_surge": "Lonjakan pengaduan",
    "incident_cluster": "Kejadian berkelompok",
    "vehicle_dwell": "Kendaraan berhenti di zona larangan parkir",
    "racing": "Balap liar (kecepatan malam hari)",
    "illegal_dumping": "Benda baru diam di zona larangan buang sampah",
}
SEVERITY_LABEL = {"critical": "SIAGA", "warning": "WASPADA", "info": "INFO"}
STATUS_LABEL = {
    "open": "terbuka",
    "acknowledged": "diterima",
    "assigned": "ditugaskan",
    "escalated": "dieskalasi",
    "resolved": "selesai",
    "closed": "ditutup",
}


def local_time(ts: datetime | None, timezone: str) -> str:
    """``29 Nov 2026 19:05 WIB`` (Indonesian month, the zone's Indonesian abbreviation)."""
    if ts is None:
        return "—"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    local = ts.astimezone(ZoneInfo(timezone))
    zone = ZONE_LABEL.get(timezone) or local.tzname() or timezone
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H:%M} {zone}"


def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def base_url(settings: Any) -> str:
    base = (settings.public_base_url or "").strip().rstrip("/")
    return base or f"http://{settings.host}:{settings.port}"


def alert_url(settings: Any, alert_id: int) -> str:
    return base_url(settings) + settings.notify_alert_path.format(id=alert_id)


def subject_place(conn: Connection, alert: Any) -> dict[str, Any]:
    """Name and location of the camera or sensor an alert is about (empty when unknown)."""
    if getattr(alert, "camera_id", None):
        row = conn.execute(
            select(
                Camera.code, Camera.name, Camera.kecamatan, Camera.address, Camera.lat, Camera.lon
            ).where(Camera.id == alert.camera_id)
        ).first()
        if row:
            return {"type": "camera", **row._asdict()}
    if getattr(alert, "subject_type", None) == "sensor":
        row = conn.execute(
            select(Sensor.code, Sensor.name, Sensor.kecamatan, Sensor.lat, Sensor.lon).where(
                Sensor.code == alert.subject_id
            )
        ).first()
        if row:
            return {"type": "sensor", "address": None, **row._asdict()}
    return {"type": getattr(alert, "subject_type", None), "code": alert.subject_id}


def where_text(place: dict[str, Any]) -> str:
    kind = {"camera": "Kamera", "sensor": "Sensor"}.get(place.get("type") or "", "Subjek")
    name = place.get("name") or place.get("code") or "—"
    code = place.get("code")
    text = f"{kind}: {name}" + (f" ({code})" if code and code != name else "")
    loc = ", ".join(p for p in (place.get("address"), place.get("kecamatan")) if p)
    if place.get("kecamatan") and not place.get("address"):
        loc = f"Kec. {place['kecamatan']}"
    elif place.get("kecamatan"):
        loc = f"{place['address']}, Kec. {place['kecamatan']}"
    return text + (f" — {loc}" if loc else "")


def assignee_text(conn: Connection, alert: Any) -> str:
    """``budi · BPBD`` (the assigned operator and OPD, whichever are set)."""
    parts = []
    if getattr(alert, "assigned_user", None):
        parts.append(str(alert.assigned_user))
    opd_id = getattr(alert, "assigned_opd_id", None)
    if opd_id:
        name = conn.execute(select(Opd.short_name).where(Opd.id == opd_id)).scalar()
        parts.append(name or f"OPD {opd_id}")
    return " · ".join(parts) or "—"


def level_label(severity: str | None, level: str | None) -> str:
    if level:
        return str(level).upper()
    return SEVERITY_LABEL.get(str(severity or "info"), str(severity or "").upper())


def alert_payload(
    conn: Connection,
    alert: Any,
    event_type: str,
    change: dict[str, Any],
    settings: Any,
    now: datetime,
) -> dict[str, Any]:
    """The JSON payload (and Indonesian ``text``) of one alert event."""
    place = subject_place(conn, alert)
    level = getattr(alert, "level", None)
    status = getattr(alert, "status", None)
    label = level_label(alert.severity, level)
    url = alert_url(settings, alert.id)
    when = alert.ended_at if event_type == "alert.closed" else None
    when = when or (alert.started_at if event_type == "alert.opened" else now)
    lines = [
        f"[{label}] {alert.title}",
        f"{EVENT_LABEL.get(event_type, event_type)} · Tingkat: {label}"
        + (f" · Jenis: {RULE_LABEL[alert.rule]}" if alert.rule in RULE_LABEL else ""),
    ]
    field = change.get("field")
    if field == "status":
        lines.append(f"Status: {STATUS_LABEL.get(str(status), status)}")
    elif field == "assignment":
        lines.append(f"Ditugaskan kepada: {assignee_text(conn, alert)}")
    elif field in ("escalated_to", "escalation_level"):
        to = [x for x in str(change.get("new") or "").split(",") if x]
        lines.append(
            "Dieskalasi ke: " + ", ".join(x.upper() if x in SEVERITY_LABEL else x for x in to)
        )
    lines.append(where_text(place))
    lines.append(f"Waktu: {local_time(when, settings.timezone)}")
    if alert.detail:
        lines.append(str(alert.detail)[:500])
    lines.append(f"Buka: {url}")
    return {
        "event": event_type,
        "title": f"[{label}] {alert.title}",
        "severity": alert.severity,
        "level": level,
        "label": label,
        "rule": alert.rule,
        "text": "\n".join(lines),
        "url": url,
        "time": local_time(when, settings.timezone),
        "occurred_at": iso(when),
        "change": change,
        "place": place,
        "alert": {
            "id": alert.id,
            "rule": alert.rule,
            "rule_id": getattr(alert, "rule_id", None),
            "severity": alert.severity,
            "level": level,
            "status": status,
            "title": alert.title,
            "detail": alert.detail,
            "value": alert.value,
            "subject_type": alert.subject_type,
            "subject_id": alert.subject_id,
            "camera_id": alert.camera_id,
            "started_at": iso(alert.started_at),
            "ended_at": iso(alert.ended_at),
        },
    }


def test_payload(channel_name: str, actor: str | None, settings: Any, now: datetime) -> dict:
    """The "send a test" message of the admin page."""
    when = local_time(now, settings.timezone)
    url = base_url(settings) + "/admin/notifikasi"
    return {
        "title": f"[UJI] Pesan uji Pantau untuk {channel_name}",
        "text": "\n".join(
            [
                f"[UJI] Pesan uji Pantau untuk kanal {channel_name}",
                "Jika pesan ini sampai, kanal berfungsi. Tidak ada tindakan yang diperlukan.",
                f"Dikirim oleh: {actor or 'admin'}",
                f"Waktu: {when}",
                f"Buka: {url}",
            ]
        ),
        "label": "UJI",
        "severity": "info",
        "time": when,
        "url": url,
        "occurred_at": iso(now),
    }
