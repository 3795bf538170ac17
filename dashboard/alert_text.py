"""Alert titles in the reader's language, made at display time (without the level: the
interface shows it as a badge next to the title).

The alert engine (``ingestion/alerts.py``) stores one title, in Indonesian, for logs and
messages. The interface shows a title rendered here from the alert's rule, severity, value and
subject (camera or sensor name and unit) in the chosen language; a rule this module does not
know keeps its stored title (new rules still show something sensible until they get a line
here).
"""

from __future__ import annotations

from dashboard.i18n import fmt_number, register, t

register(
    {
        "alert.level.critical": {"id": "SIAGA", "en": "CRITICAL"},
        "alert.level.warning": {"id": "WASPADA", "en": "WARNING"},
        "alert.level.info": {"id": "INFO", "en": "INFO"},
        "alert.title.flood_coverage": {
            "id": "Genangan {pct}% di {name}",
            "en": "Water covers {pct}% of the road at {name}",
        },
        "alert.title.flood_coverage.no_value": {
            "id": "Genangan di {name}",
            "en": "Flooding at {name}",
        },
        "alert.title.crowd_density": {
            "id": "Kerumunan di atas biasa di {name}: {n} orang",
            "en": "Crowd above usual at {name}: {n} people",
        },
        "alert.title.crowd_density.no_value": {
            "id": "Kerumunan di atas biasa di {name}",
            "en": "Crowd above usual at {name}",
        },
        "alert.title.camera_offline": {
            "id": "Kamera {name} offline",
            "en": "Camera {name} is offline",
        },
        "alert.title.complaint_surge": {
            "id": "{n} laporan {category} di {area}",
            "en": "{n} reports of {category} in {area}",
        },
        "alert.title.cell": {"id": "sel peta {cell}", "en": "map cell {cell}"},
        "alert.title.incident_cluster": {
            "id": "Klaster {n} kejadian {kind}",
            "en": "Cluster of {n} {kind} incidents",
        },
        "alert.title.sensor_level": {
            "id": "{name}: {value} {unit}",
            "en": "{name}: {value} {unit}",
        },
        "alert.title.racing": {
            "id": "Balap liar {kmh} km/jam di {name}",
            "en": "Illegal racing at {kmh} km/h at {name}",
        },
    }
)

#: Rules whose title is rendered here (others keep the stored title).
KNOWN_RULES = ("flood_coverage", "crowd_density", "camera_offline", "sensor_level", "racing")


def alert_title(
    rule: str,
    severity: str | None,
    value: float | None,
    subject: str | None,
    stored_title: str,
    *,
    unit: str | None = None,
    lang: str | None = None,
) -> str:
    """The title of an alert in ``lang`` (default: the request's language)."""
    if rule not in KNOWN_RULES or not subject:
        return _without_level(stored_title)
    level = t(f"alert.level.{severity if severity in ('critical', 'warning') else 'info'}", lang)
    if rule == "flood_coverage":
        if value is None:
            return t("alert.title.flood_coverage.no_value", lang, level=level, name=subject)
        pct = fmt_number(value)  # stored in percent, as shown (store.rules.text)
        return t("alert.title.flood_coverage", lang, level=level, pct=pct, name=subject)
    if rule == "crowd_density":
        if value is None:
            return t("alert.title.crowd_density.no_value", lang, name=subject)
        return t("alert.title.crowd_density", lang, name=subject, n=fmt_number(value))
    if rule == "camera_offline":
        return t("alert.title.camera_offline", lang, name=subject)
    if rule == "racing" and value is not None:  # km/h, stored as shown (store.rules.text)
        return t("alert.title.racing", lang, name=subject, kmh=fmt_number(value))
    if rule == "racing":
        return _without_level(stored_title)
    # sensor_level
    from store.rules.text import number

    shown = number(value) if value is not None else "—"  # as stored: 212.5 stays 212.5
    return t(
        "alert.title.sensor_level", lang, level=level, name=subject, value=shown, unit=unit or ""
    ).strip()


def level_text(row, lang: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """The alert's word on its kind's scale (SIAGA, GANGGUAN...) in ``lang``; the severity
    word for an alert without a level."""
    from dashboard.i18n import current_lang
    from store.rules.text import level_label

    level = getattr(row, "level", None)
    if level:
        return level_label(level, lang or current_lang())
    sev = row.severity if row.severity in ("critical", "warning") else "info"
    return t(f"alert.level.{sev}", lang)


def _without_level(title: str) -> str:
    """A stored title without its ``LEVEL: `` prefix (the badge shows the level)."""
    from store.rules.text import LEVEL_EN, level_label

    head, sep, rest = title.partition(": ")
    if sep and head in {level_label(w) for w in LEVEL_EN}:
        return rest
    return title


def counted_title(row, lang: str | None = None) -> str | None:  # type: ignore[no-untyped-def]
    """Complaint-surge and incident-cluster titles in ``lang`` from the alert's subject
    (``category|area``, ``kind|anchor``) and count; None for other kinds."""
    from store.complaints import category_label
    from store.rules.text import INCIDENT_KIND_ID

    sid = getattr(row, "subject_id", None) or ""
    if row.rule not in ("complaint_surge", "incident_cluster") or "|" not in sid:
        return None
    what, where = sid.split("|", 1)
    n = fmt_number(row.value) if row.value is not None else "—"
    if row.rule == "complaint_surge":
        area = where if "," not in where else t("alert.title.cell", lang, cell=where)
        cat = category_label(what, lang or "id").lower()
        return t("alert.title.complaint_surge", lang, n=n, category=cat, area=area)
    kind = INCIDENT_KIND_ID.get(what, what) if (lang or "id") == "id" else what.replace("_", " ")
    return t("alert.title.incident_cluster", lang, n=n, kind=kind)


def row_title(row, lang: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """:func:`alert_title` of a ``dashboard.queries.alerts.AlertRow``."""
    counted = counted_title(row, lang)
    if counted is not None:
        return counted
    subject = row.sensor_name if row.rule == "sensor_level" else row.camera_name
    return alert_title(
        row.rule,
        row.severity,
        row.value,
        subject,
        row.title,
        unit=row.sensor_unit,
        lang=lang,
    )
