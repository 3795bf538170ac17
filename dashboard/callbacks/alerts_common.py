"""What the alert pages share: their strings (Indonesian and English), labels of kinds,
severities, statuses and outcomes, badges, and the acting user as ``store.alert_workflow``
wants it."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.i18n import register as register_strings
from dashboard.i18n import t
from store.alert_workflow import Actor
from store.models import AlertOutcome, AlertStatus

register_strings(
    {
        "nav.alerts": {"id": "Peringatan", "en": "Alerts"},
        # kinds (Alert.rule) — the situation room's labels, plus the rule kinds of issue 12
        "alerts.kind.flood_coverage": {"id": "Genangan", "en": "Flooding"},
        "alerts.kind.crowd_density": {"id": "Kerumunan", "en": "Crowd"},
        "alerts.kind.camera_offline": {"id": "Kamera offline", "en": "Camera offline"},
        "alerts.kind.sensor_level": {"id": "Ambang sensor", "en": "Sensor threshold"},
        "alerts.kind.complaint_surge": {"id": "Lonjakan pengaduan", "en": "Complaint surge"},
        "alerts.kind.incident_cluster": {"id": "Kumpulan kejadian", "en": "Incident cluster"},
        "alerts.kind.no_parking": {"id": "Parkir liar", "en": "No-parking dwell"},
        "alerts.kind.racing": {"id": "Balap liar", "en": "Illegal racing"},
        "alerts.severity.critical": {"id": "SIAGA", "en": "CRITICAL"},
        "alerts.severity.warning": {"id": "WASPADA", "en": "WARNING"},
        "alerts.severity.info": {"id": "INFO", "en": "INFO"},
        "alerts.status.open": {"id": "Baru", "en": "New"},
        "alerts.status.acknowledged": {"id": "Diterima", "en": "Acknowledged"},
        "alerts.status.assigned": {"id": "Ditugaskan", "en": "Assigned"},
        "alerts.status.resolved": {"id": "Selesai", "en": "Resolved"},
        "alerts.outcome.handled": {"id": "Ditangani di lokasi", "en": "Handled on site"},
        "alerts.outcome.referred": {"id": "Diteruskan ke instansi lain", "en": "Referred"},
        "alerts.outcome.monitored": {
            "id": "Dipantau, tidak perlu tindakan",
            "en": "Monitored, no action needed",
        },
        "alerts.outcome.false_alarm": {"id": "Alarm palsu", "en": "False alarm"},
        "alerts.outcome.duplicate": {"id": "Duplikat", "en": "Duplicate"},
        "alerts.outcome.equipment": {
            "id": "Gangguan perangkat (ke pemeliharaan)",
            "en": "Equipment fault (to maintenance)",
        },
        "alerts.cleared": {"id": "kondisi sudah normal", "en": "condition cleared"},
        "alerts.active_condition": {"id": "kondisi masih berlangsung", "en": "condition ongoing"},
        "alerts.pimpinan": {"id": "Pimpinan", "en": "Leadership"},
    }
)

SEVERITY_CLASS = {"critical": "danger", "warning": "warning", "info": "info"}
STATUS_CLASS = {
    AlertStatus.OPEN: "danger",
    AlertStatus.ACKNOWLEDGED: "primary",
    AlertStatus.ASSIGNED: "info",
    AlertStatus.RESOLVED: "success",
}
STATUSES = [str(s) for s in AlertStatus]
OUTCOMES = [str(o) for o in AlertOutcome]
WRITE_ROLES = ("operator", "admin")


def label(prefix: str, code: str | None) -> str:
    """The translated label of ``alerts.<prefix>.<code>``, or the code itself."""
    if not code:
        return "—"
    key = f"alerts.{prefix}.{code}"
    text = t(key)
    return code if text == key else text


def severity_badge(sev: str | None, level: str | None = None, **kwargs: Any) -> html.Span:
    """The kind's own level word (SIAGA, GANGGUAN, PADAT...) coloured by severity; the
    severity word only for alerts without a level."""
    from dashboard.i18n import current_lang
    from store.rules.text import level_label

    sev = sev if sev in SEVERITY_CLASS else "info"
    text = level_label(level, current_lang()) if level else label("severity", sev)
    return html.Span(text, className=f"badge text-bg-{SEVERITY_CLASS[sev]} me-1", **kwargs)


def status_badge(status: str | None, **kwargs: Any) -> html.Span:
    status = status or AlertStatus.OPEN
    return html.Span(
        label("status", status),
        className=f"badge text-bg-{STATUS_CLASS.get(status, 'secondary')} me-1",
        **kwargs,
    )


def current_actor() -> Actor:
    from dashboard import auth

    return Actor(auth.current_username() or "?", auth.current_role(), auth.current_opd_id())


def as_text(value: Any, limit: int = 4000) -> str | None:
    """A browser-sent value that must be text: strings (cut to ``limit``), else None."""
    return value[:limit] if isinstance(value, str) else None


def as_id(value: Any) -> int | None:
    """A browser-sent id: a positive int (or its digits as a string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None
