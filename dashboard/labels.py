"""Human names, in the interface language, for codes stored in camera settings: a camera's
functions (tags such as ``traffic``) and the names of its analysis areas (ROIs) and counting
lines (``trotoar_jauh``, ``tengah``). Names an admin typed are shown as typed, only with
underscores turned into spaces."""

from __future__ import annotations

from dashboard.i18n import STRINGS, register, t

register(
    {
        "tag.traffic": {"id": "lalu lintas", "en": "traffic"},
        "tag.flood": {"id": "genangan/banjir", "en": "flooding"},
        "tag.crowd": {"id": "kerumunan", "en": "crowds"},
        "tag.security": {"id": "keamanan", "en": "security"},
        "tag.parking": {"id": "parkir", "en": "parking"},
        "tag.waste": {"id": "sampah", "en": "waste"},
        "roi.trotoar": {"id": "Trotoar", "en": "Pavement"},
        "roi.trotoar_jauh": {"id": "Trotoar jauh", "en": "Far pavement"},
        "roi.trotoar_dekat": {"id": "Trotoar dekat", "en": "Near pavement"},
        "roi.jalan": {"id": "Jalan", "en": "Road"},
        "roi.roi": {"id": "Area", "en": "Area"},
        "roi.tengah": {"id": "Garis tengah", "en": "Centre line"},
        "roi.kiri": {"id": "ke kiri", "en": "leftwards"},
        "roi.kanan": {"id": "ke kanan", "en": "rightwards"},
        "unit.ind.% target": {"id": "% target", "en": "% of target"},
        "unit.ind.rp miliar": {"id": "Rp miliar", "en": "IDR billion"},
        "unit.ind.rp juta": {"id": "Rp juta", "en": "IDR million"},
        "unit.ind.rp/kg": {"id": "Rp/kg", "en": "IDR/kg"},
        "unit.ind.kegiatan": {"id": "kegiatan", "en": "activities"},
        "unit.ind.km/jam": {"id": "km/jam", "en": "km/h"},
        "unit.ind.menit": {"id": "menit", "en": "min"},
        "unit.ind.jam": {"id": "jam", "en": "h"},
        "unit.ind.hari": {"id": "hari", "en": "days"},
        "unit.ind.orang": {"id": "orang", "en": "people"},
        "unit.ind.laporan": {"id": "laporan", "en": "reports"},
        "unit.ind.kejadian": {"id": "kejadian", "en": "incidents"},
        "unit.ind.unit": {"id": "unit", "en": "units"},
        "unit.ind.× biasa": {"id": "× biasa", "en": "× usual"},
        "unit.ind.cm": {"id": "cm", "en": "cm"},
        "roi.kind.crowd": {"id": "orang", "en": "people"},
        "roi.kind.road": {"id": "jalan", "en": "road"},
        "roi.kind.any": {"id": "semua", "en": "any"},
        "roi.kind.no_parking": {"id": "larangan parkir", "en": "no parking"},
        "roi.kind.no_dumping": {"id": "larangan buang sampah", "en": "no dumping"},
    }
)


def _known(prefix: str, code: str) -> str | None:
    key = f"{prefix}.{code}"
    return t(key) if key in STRINGS else None


def tag_label(tag: str) -> str:
    """``traffic`` -> ``lalu lintas`` / ``traffic``."""
    return _known("tag", str(tag).strip().lower()) or str(tag).replace("_", " ")


def tags_text(tags: list[str] | None) -> str:
    return ", ".join(tag_label(x) for x in tags or []) or "—"


def area_label(name: str | None) -> str:
    """An ROI's or counting line's name for people: ``trotoar_jauh`` -> ``Trotoar jauh`` /
    ``Far pavement``; an unknown name with its underscores as spaces."""
    raw = str(name or "").strip()
    if not raw:
        return "—"
    known = _known("roi", raw.lower())
    if known:
        return known
    text = raw.replace("_", " ")
    return text[:1].upper() + text[1:]


def unit_label(unit: str | None) -> str:
    """An indicator's unit as written in the registry (Indonesian) in the interface language:
    ``km/jam`` -> ``km/h``, ``Rp miliar`` -> ``IDR billion``; others as they are."""
    raw = str(unit or "")
    return _known("unit.ind", raw.strip().lower()) or raw
