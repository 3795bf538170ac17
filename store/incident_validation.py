"""Validation of incidents fed by agencies (file rows and API items): one
:class:`IncidentRecord` per incident, every problem named as (column, value, why).

Kinds and statuses map onto ``IncidentKind``/``IncidentStatus`` (Indonesian words too);
times are ISO 8601 WITH a time zone; coordinates in range and, when the city has a bounding
area (``PANTAU_CITY_BBOX``), inside it; ``ended_at`` not before ``occurred_at``. Used by
``store.incidents`` (which re-exports these names).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from store.models import IncidentKind, IncidentStatus
from store.types import utcnow

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
COLUMNS = ("source", "external_id", "kind", "occurred_at", "lat", "lon", "description", "status")
OPTIONAL_COLUMNS = ("address", "kecamatan", "ended_at")
SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(hours=1)  # agency clocks may run a little ahead

#: Indonesian (and a few English) words agencies use, mapped onto IncidentKind.
KIND_ALIASES: dict[str, IncidentKind] = {
    "kriminal": IncidentKind.CRIME,
    "kriminalitas": IncidentKind.CRIME,
    "kejahatan": IncidentKind.CRIME,
    "pencurian": IncidentKind.CRIME,
    "kebakaran": IncidentKind.FIRE,
    "kecelakaan": IncidentKind.TRAFFIC_ACCIDENT,
    "kecelakaan_lalu_lintas": IncidentKind.TRAFFIC_ACCIDENT,
    "laka_lantas": IncidentKind.TRAFFIC_ACCIDENT,
    "accident": IncidentKind.TRAFFIC_ACCIDENT,
    "banjir": IncidentKind.FLOOD,
    "genangan": IncidentKind.FLOOD,
    "sampah_liar": IncidentKind.ILLEGAL_DUMPING,
    "buang_sampah_liar": IncidentKind.ILLEGAL_DUMPING,
    "balap_liar": IncidentKind.ILLEGAL_RACING,
    "parkir_liar": IncidentKind.ILLEGAL_PARKING,
    "anak_jalanan": IncidentKind.STREET_CHILDREN,
    "kerumunan": IncidentKind.CROWD,
    "pkl": IncidentKind.STREET_VENDORS,
    "pedagang_kaki_lima": IncidentKind.STREET_VENDORS,
    "lainnya": IncidentKind.OTHER,
    "lain-lain": IncidentKind.OTHER,
}
STATUS_ALIASES: dict[str, IncidentStatus] = {
    "baru": IncidentStatus.OPEN,
    "dilaporkan": IncidentStatus.OPEN,
    "ditangani": IncidentStatus.HANDLING,
    "penanganan": IncidentStatus.HANDLING,
    "proses": IncidentStatus.HANDLING,
    "in_progress": IncidentStatus.HANDLING,
    "selesai": IncidentStatus.CLOSED,
    "ditutup": IncidentStatus.CLOSED,
    "resolved": IncidentStatus.CLOSED,
}


# --------------------------------------------------------------------------------------------
# validation
@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row or item: the column, the value found and why."""

    column: str
    value: Any
    message: str

    def __str__(self) -> str:
        shown = _show(self.value)
        return f"column '{self.column}', value {shown}: {self.message}"


def _show(value: Any, limit: int = 60) -> str:
    if value is None:
        return "(empty)"
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text) if isinstance(value, str) else text


class IncidentInvalid(ValueError):
    """A row or item that cannot be stored; ``problems`` names every column at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def to_choice(value: Any, enum: type, aliases: dict, what: str) -> Any:
    if isinstance(value, enum):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    word = value.strip().lower().replace(" ", "_")
    if word in enum._value2member_map_:
        return enum(word)
    if word in aliases:
        return aliases[word]
    known = ", ".join(m.value for m in enum)
    raise ValueError(f"unknown {what}; use one of: {known}")


def parse_time(value: Any, what: str = "time") -> datetime:
    """ISO 8601 text WITH a time zone (``2026-11-23T14:00:00+07:00``, ``...Z``) -> UTC."""
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 {what} (e.g. 2026-11-23T14:00:00+07:00)") from None
    else:
        raise ValueError(f"{what} must be ISO 8601 text (e.g. 2026-11-23T14:00:00+07:00)")
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(
            f"{what} has no time zone; add one, e.g. 2026-11-23T14:00:00+07:00 (WIB) or ...Z"
        )
    try:
        return ts.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-14:00 is past the last representable instant
        raise ValueError(f"{what} is out of range") from None


#: control characters other than tab, newline and carriage return (PostgreSQL refuses NUL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain_text(v: Any) -> Any:
    if v is not None and not isinstance(v, str):
        raise ValueError("must be text")
    if isinstance(v, str) and _CONTROL.search(v):
        raise ValueError("contains control characters")
    return v


class IncidentRecord(BaseModel):
    """One validated incident as an agency sends it (file row or API item)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: str
    external_id: str
    kind: IncidentKind
    occurred_at: datetime
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    description: str = Field(min_length=1, max_length=4000)
    status: IncidentStatus
    address: str | None = Field(default=None, max_length=300)
    kecamatan: str | None = Field(default=None, max_length=100)
    ended_at: datetime | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, v: Any) -> Any:
        if not isinstance(v, str):
            raise ValueError("source must be text")
        v = v.strip().lower()
        if not SOURCE_RE.fullmatch(v):
            raise ValueError(
                "source must be 1-32 lowercase letters, digits, '_' or '-' (e.g. polresta, damkar)"
            )
        return v

    @field_validator("external_id", mode="before")
    @classmethod
    def _external_id(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str):
            raise ValueError("external_id must be text")
        v = v.strip()
        if not EXTERNAL_ID_RE.fullmatch(v):
            raise ValueError(
                "external_id must be 1-128 characters: letters, digits and . _ : / - "
                "(starting with a letter or digit)"
            )
        return v

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> Any:
        return to_choice(v, IncidentKind, KIND_ALIASES, "kind")

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> Any:
        return to_choice(v, IncidentStatus, STATUS_ALIASES, "status")

    @field_validator("occurred_at", "ended_at", mode="before")
    @classmethod
    def _time(cls, v: Any, info: Any) -> Any:
        if v is None:
            return None
        return parse_time(v, info.field_name)

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("must be a number")
        if isinstance(v, str):
            v = v.strip().replace(",", ".") if v.count(",") == 1 and "." not in v else v.strip()
        return v

    @field_validator("address", "kecamatan", mode="before")
    @classmethod
    def _optional_text(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip():
            return None
        return _plain_text(v)

    @field_validator("description", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return _plain_text(v)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)


def validate_incident(
    data: Any,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    now: datetime | None = None,
) -> IncidentRecord:
    """A dict (file row or JSON item) -> :class:`IncidentRecord`, or :class:`IncidentInvalid`
    naming each column at fault with its value. ``bounds`` (min_lon, min_lat, max_lon,
    max_lat): the city's area, checked when set."""
    if not isinstance(data, dict):
        raise IncidentInvalid([Problem("(item)", type(data).__name__, "a JSON object expected")])
    try:
        rec = IncidentRecord.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            column = ".".join(str(p) for p in err["loc"]) or "(item)"
            value = data.get(column) if column in data else None
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                message = "required column is missing or empty"
            elif err["type"] == "extra_forbidden":
                known = ", ".join((*COLUMNS, *OPTIONAL_COLUMNS))
                message = f"unknown column (known: {known})"
            problems.append(Problem(column, value, message))
        raise IncidentInvalid(problems) from None
    problems = []
    now = now or utcnow()
    if rec.occurred_at > now + FUTURE_SLACK:
        problems.append(Problem("occurred_at", data.get("occurred_at"), "is in the future"))
    if rec.occurred_at < EARLIEST:
        problems.append(Problem("occurred_at", data.get("occurred_at"), "is before 2000"))
    if rec.ended_at is not None and rec.ended_at < rec.occurred_at:
        problems.append(
            Problem("ended_at", data.get("ended_at"), "is before occurred_at (must be >= it)")
        )
    if rec.ended_at is not None and rec.ended_at > now + FUTURE_SLACK:
        problems.append(Problem("ended_at", data.get("ended_at"), "is in the future"))
    if bounds is not None:
        min_lon, min_lat, max_lon, max_lat = bounds
        if not min_lat <= rec.lat <= max_lat:
            problems.append(
                Problem("lat", data.get("lat"), f"outside the city area ({min_lat}..{max_lat})")
            )
        if not min_lon <= rec.lon <= max_lon:
            problems.append(
                Problem("lon", data.get("lon"), f"outside the city area ({min_lon}..{max_lon})")
            )
    if problems:
        raise IncidentInvalid(problems)
    return rec
