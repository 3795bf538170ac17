"""The one place an alert's numbers become text: the value is stored in the unit shown, and
the title and detail are rendered from the same prepared strings, so they always agree."""

from __future__ import annotations

from store.rules.schema import Kind

#: unit each kind stores ``Alert.value`` in (sensor alerts: the sensor's own unit)
UNITS: dict[str, str] = {
    Kind.FLOOD: "%",
    Kind.CROWD: "orang",
    Kind.OFFLINE: "menit",
    Kind.SURGE: "laporan",
    Kind.CLUSTER: "kejadian",
    Kind.DWELL: "menit",
    Kind.RACING: "km/jam",
    Kind.DUMPING: "menit",
}

#: level words in English (Bahasa Indonesia: the word itself, upper case)
LEVEL_EN = {
    "waspada": "ALERT",
    "siaga": "WARNING",
    "awas": "DANGER",
    "padat": "CROWDED",
    "sangat_padat": "VERY CROWDED",
    "gangguan": "DEGRADED",
    "mati": "DOWN",
    "meningkat": "RISING",
    "lonjakan": "SURGE",
    "klaster": "CLUSTER",
    "klaster_besar": "LARGE CLUSTER",
    "parkir_liar": "ILLEGAL PARKING",
    "balap_liar": "ILLEGAL RACING",
    "sampah_liar": "ILLEGAL DUMPING",
}


def level_label(level: str | None, lang: str = "id") -> str:
    """``SIAGA`` / ``WARNING``, ``GANGGUAN`` / ``DEGRADED``..."""
    if not level:
        return ""
    if lang == "en":
        return LEVEL_EN.get(level, level.replace("_", " ").upper())
    return level.replace("_", " ").upper()


def number(value: float, decimals: int = 1) -> str:
    """``12``, ``12.5`` (trailing zeros dropped)."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def with_unit(value: float, unit: str, decimals: int = 1) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    return f"{number(value, decimals)} {unit}".strip()


def round_value(kind: str, value: float) -> float:
    """The stored value, rounded as it is shown (percent and counts without decimals)."""
    if kind in (
        Kind.FLOOD,
        Kind.CROWD,
        Kind.OFFLINE,
        Kind.SURGE,
        Kind.CLUSTER,
        Kind.DWELL,
        Kind.RACING,
        Kind.DUMPING,
    ):
        return float(round(value))
    return round(value, 1)


#: incident kinds as the cluster titles name them (``{incident_kind}``)
INCIDENT_KIND_ID = {
    "crime": "kriminal",
    "fire": "kebakaran",
    "traffic_accident": "kecelakaan lalu lintas",
    "flood": "banjir",
    "illegal_dumping": "sampah liar",
    "illegal_racing": "balap liar",
    "illegal_parking": "parkir liar",
    "street_children": "anak jalanan",
    "crowd": "kerumunan",
    "street_vendors": "pedagang kaki lima",
    "other": "lainnya",
}
