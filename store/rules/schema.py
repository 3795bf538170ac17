"""Alert rules as data: one pydantic model per kind, so a bad definition is refused with an
error that names the field (``levels.1.at: ...``) before anything is stored.

A rule has a *scope* (which cameras, ROIs, sensors, kecamatan... it watches), kind-specific
*params* (the condition), *levels* on the kind's own scale (flood waspada/siaga/awas, camera
health gangguan/mati, ...) each with the threshold that reaches it and the normalised
``severity`` (info/warning/critical) that sorting and routing use, a *minimum duration* before
opening, *hysteresis* (a lower closing threshold and how long the value must stay below it),
a *cooldown* after closing, a *deduplication key* and the *title/detail templates*.

Templates only substitute ``{placeholder}`` names from a fixed list per kind with text that is
formatted beforehand: no attribute access, no format specifications, nothing that runs code.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from store.models import AlertSeverity


class Kind(StrEnum):
    FLOOD = "flood_coverage"  # water coverage of a camera's road ROI, percent
    CROWD = "crowd_density"  # people in view (or in a ROI), absolute or against the usual
    OFFLINE = "camera_offline"  # minutes a camera has been offline
    SENSOR = "sensor_level"  # a sensor reading against its waspada/siaga levels
    SURGE = "complaint_surge"  # complaints of a category in a kecamatan / map cell
    CLUSTER = "incident_cluster"  # incidents of a kind close in space and time
    DWELL = "vehicle_dwell"  # minutes a vehicle has stood in a no-parking ROI
    RACING = "racing"  # balap liar: objects tracked faster than X km/h at night (racing.py)
    DUMPING = "illegal_dumping"  # minutes a new static object has stayed in a no-dumping ROI


class ScopeType(StrEnum):
    CITY = "city"
    CAMERA = "camera"  # value: camera code
    ROI = "roi"  # value: CAMERA_CODE/roi name
    TAG = "tag"  # value: a camera tag, e.g. "flood"
    KECAMATAN = "kecamatan"  # value: kecamatan name
    SENSOR = "sensor"  # value: sensor code


#: Each kind's scale, lowest first: the words an alert of that kind may carry.
SCALES: dict[str, tuple[str, ...]] = {
    Kind.FLOOD: ("waspada", "siaga", "awas"),
    Kind.SENSOR: ("waspada", "siaga", "awas"),
    Kind.CROWD: ("padat", "sangat_padat"),
    Kind.OFFLINE: ("gangguan", "mati"),
    Kind.SURGE: ("meningkat", "lonjakan"),
    Kind.CLUSTER: ("klaster", "klaster_besar"),
    Kind.DWELL: ("parkir_liar",),
    Kind.RACING: ("balap_liar",),
    Kind.DUMPING: ("sampah_liar",),
}

#: The scopes each kind can use.
SCOPES: dict[str, tuple[str, ...]] = {
    Kind.FLOOD: ("city", "camera", "roi", "tag", "kecamatan"),
    Kind.CROWD: ("city", "camera", "roi", "tag", "kecamatan"),
    Kind.OFFLINE: ("city", "camera", "tag", "kecamatan"),
    Kind.SENSOR: ("city", "sensor", "kecamatan"),
    Kind.SURGE: ("city", "kecamatan"),
    Kind.CLUSTER: ("city", "kecamatan"),
    Kind.DWELL: ("city", "camera", "roi", "tag", "kecamatan"),
    Kind.RACING: ("city", "camera", "tag", "kecamatan"),
    Kind.DUMPING: ("city", "camera", "roi", "tag", "kecamatan"),
}

#: Placeholders every template may use; each kind adds its own (``PLACEHOLDERS``).
COMMON_PLACEHOLDERS = (
    "LEVEL", "level", "name", "value", "unit", "threshold", "subject", "kind", "rule",
)  # fmt: skip
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    Kind.FLOOD: ("confidence",),
    Kind.CROWD: ("usual", "ratio"),
    Kind.OFFLINE: ("since", "reason"),
    Kind.SENSOR: ("code",),
    Kind.SURGE: ("category", "area", "hours", "usual"),
    Kind.CLUSTER: ("incident_kind", "radius", "hours"),
    Kind.DWELL: ("roi", "since"),
    Kind.RACING: ("count", "night"),
    Kind.DUMPING: ("roi", "since", "objects"),
}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
NAME_RE = r"^[a-z0-9][a-z0-9_-]{1,63}$"
DEFAULT_DEDUP = "{kind}:{subject}"
DAY_S = 86_400


def template_problems(text: str, kind: str) -> list[str]:
    """What is wrong with a template (empty list: fine)."""
    allowed = set(COMMON_PLACEHOLDERS) | set(PLACEHOLDERS.get(kind, ()))
    problems = []
    for name in _PLACEHOLDER.findall(text):
        if name not in allowed:
            problems.append(
                f"unknown placeholder {{{name}}} (allowed: {', '.join(sorted(allowed))})"
            )
    stripped = _PLACEHOLDER.sub("", text)
    if "{" in stripped or "}" in stripped:
        problems.append("unbalanced { or } (write a placeholder as {name})")
    return problems


def render(text: str, values: dict[str, str]) -> str:
    """Substitute ``{name}`` with its prepared text; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="A word of the kind's scale, e.g. waspada.")
    severity: AlertSeverity = Field(description="info, warning or critical.")
    at: float | Literal["warning_level", "danger_level"] = Field(
        description="Threshold in the kind's unit that reaches this level (sensor rules may "
        "say warning_level / danger_level: the sensor's own registered levels)."
    )


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ScopeType = ScopeType.CITY
    value: str | None = None

    @model_validator(mode="after")
    def _value(self) -> Scope:
        if self.type == ScopeType.CITY:
            if self.value:
                raise ValueError("scope.value: a city-wide scope takes no value")
            self.value = None
            return self
        value = (self.value or "").strip()
        if not value:
            raise ValueError(f"scope.value: a {self.type} scope needs a value")
        if self.type == ScopeType.ROI and (
            "/" not in value or not all(p.strip() for p in value.split("/", 1))
        ):
            raise ValueError(
                "scope.value: a ROI scope is CAMERA_CODE/roi name, e.g. CCTV-001/trotoar"
            )
        self.value = value[:200]
        return self


class Hysteresis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ratio: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Closes below ratio x the opening threshold (1.0: as soon as it is below).",
    )
    band: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="With two or more levels: closes this fraction of the gap between the "
        "first two levels below the opening threshold (sensors: 0.1 closes 150/200 cm at "
        "145 cm); ratio applies when there is one level.",
    )
    clear_s: int = Field(
        default=0, ge=0, le=DAY_S, description="Seconds the value must stay below before closing."
    )


class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_RE, description="Unique id: a-z, 0-9, _ and -.")
    enabled: bool = True
    description: str = Field(default="", max_length=1000)
    scope: Scope = Field(default_factory=Scope)
    levels: list[Level] = Field(min_length=1, max_length=5)
    min_duration_s: int = Field(
        default=0, ge=0, le=DAY_S, description="The condition must hold this long to open."
    )
    hysteresis: Hysteresis = Field(default_factory=Hysteresis)
    cooldown_s: int = Field(
        default=0,
        ge=0,
        le=7 * DAY_S,
        description="After an alert closes, no new alert for the same key this long.",
    )
    dedup: str = Field(
        default=DEFAULT_DEDUP,
        min_length=1,
        max_length=200,
        description="One open alert per key (demo and live alike).",
    )
    title: str = Field(min_length=1, max_length=300)
    detail: str = Field(default="", max_length=2000)
    record_seconds: int | None = Field(
        default=None,
        ge=1,
        le=3600,
        description="Action: when an alert on a camera opens, record a clip of this many "
        "seconds from it (evidence; the recorder service does it, capped by "
        "PANTAU_EVIDENCE_MAX_SECONDS). None: no recording.",
    )

    @model_validator(mode="after")
    def _check(self) -> _RuleBase:
        kind = self.kind  # type: ignore[attr-defined]
        if self.scope.type not in SCOPES[kind]:
            raise ValueError(
                f"scope.type: {self.scope.type} does not fit {kind} "
                f"(allowed: {', '.join(SCOPES[kind])})"
            )
        scale = SCALES[kind]
        names = [lv.name for lv in self.levels]
        for i, lv in enumerate(self.levels):
            if lv.name not in scale:
                raise ValueError(
                    f"levels.{i}.name: {lv.name!r} is not on the {kind} scale ({', '.join(scale)})"
                )
            if isinstance(lv.at, str) and kind != Kind.SENSOR:
                raise ValueError(f"levels.{i}.at: {lv.at!r} only fits sensor_level rules")
        if len(set(names)) != len(names):
            raise ValueError("levels: each level may appear once")
        if [scale.index(n) for n in names] != sorted(scale.index(n) for n in names):
            raise ValueError(f"levels: list them lowest first ({', '.join(scale)})")
        numeric = [lv.at for lv in self.levels if not isinstance(lv.at, str)]
        if any(b <= a for a, b in zip(numeric, numeric[1:], strict=False)):
            raise ValueError("levels.at: thresholds must rise from one level to the next")
        rank = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
        sev = [rank[lv.severity] for lv in self.levels]
        if sev != sorted(sev):
            raise ValueError("levels.severity: a higher level cannot have a lower severity")
        for field in ("dedup", "title", "detail"):
            problems = template_problems(getattr(self, field), kind)
            if problems:
                raise ValueError(f"{field}: {'; '.join(problems)}")
        if "{subject}" not in self.dedup:
            raise ValueError("dedup: must contain {subject}, or every subject shares one alert")
        return self


class FloodParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_confidence: float = Field(default=0.2, ge=0, le=1)


class FloodRule(_RuleBase):
    """Water coverage of a camera's road ROI, in percent (levels.at 0..100)."""

    kind: Literal[Kind.FLOOD] = Kind.FLOOD
    params: FloodParams = Field(default_factory=FloodParams)

    @model_validator(mode="after")
    def _range(self) -> FloodRule:
        for i, lv in enumerate(self.levels):
            if not 0 < float(lv.at) <= 100:
                raise ValueError(f"levels.{i}.at: water coverage is a percentage in (0, 100]")
        return self


class CrowdParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["relative", "absolute"] = Field(
        default="relative",
        description="relative: levels.at are multiples of the usual count for that hour "
        "(and weekday); absolute: levels.at are people.",
    )
    min_people: int = Field(default=15, ge=1, le=100_000, description="Never below N people.")
    baseline: Literal["hour_weekday", "hour"] = "hour_weekday"
    baseline_weeks: int = Field(default=8, ge=1, le=52)
    baseline_min_samples: int = Field(default=3, ge=1, le=365)


class CrowdRule(_RuleBase):
    kind: Literal[Kind.CROWD] = Kind.CROWD
    params: CrowdParams = Field(default_factory=CrowdParams)

    @model_validator(mode="after")
    def _range(self) -> CrowdRule:
        if self.scope.type == ScopeType.ROI and self.params.mode == "relative":
            raise ValueError(
                "params.mode: a ROI crowd rule counts the people in that ROI and no usual count "
                "is kept per ROI: use mode absolute"
            )
        for i, lv in enumerate(self.levels):
            at = float(lv.at)
            if self.params.mode == "relative" and not 1 < at <= 100:
                raise ValueError(f"levels.{i}.at: a multiple of the usual count, above 1")
            if self.params.mode == "absolute" and at < 1:
                raise ValueError(f"levels.{i}.at: a number of people, at least 1")
        return self


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OfflineRule(_RuleBase):
    """Minutes a camera has been offline (levels.at in minutes)."""

    kind: Literal[Kind.OFFLINE] = Kind.OFFLINE
    params: NoParams = Field(default_factory=NoParams)

    @model_validator(mode="after")
    def _range(self) -> OfflineRule:
        for i, lv in enumerate(self.levels):
            if not 0 < float(lv.at) <= 7 * 24 * 60:
                raise ValueError(f"levels.{i}.at: minutes offline, in (0, 10080]")
        return self


class SensorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensor_kind: str | None = Field(default=None, description="Only sensors of this kind.")


class SensorRule(_RuleBase):
    """A reading in the sensor's unit; levels.at a number or the sensor's own levels."""

    kind: Literal[Kind.SENSOR] = Kind.SENSOR
    params: SensorParams = Field(default_factory=SensorParams)


class SurgeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(
        default=None, description="Complaint category; empty: each category on its own."
    )
    group_by: Literal["kecamatan", "cell"] = "kecamatan"
    window_hours: float = Field(default=6, gt=0, le=168)
    factor: float = Field(
        default=3.0, ge=1, le=100, description="Also at least factor x the usual count."
    )
    baseline_weeks: int = Field(default=8, ge=1, le=52)


class SurgeRule(_RuleBase):
    """Reports in the window (levels.at: counts)."""

    kind: Literal[Kind.SURGE] = Kind.SURGE
    params: SurgeParams = Field(default_factory=SurgeParams)

    @model_validator(mode="after")
    def _range(self) -> SurgeRule:
        for i, lv in enumerate(self.levels):
            if float(lv.at) < 2 or float(lv.at) != int(float(lv.at)):
                raise ValueError(f"levels.{i}.at: a whole number of reports, at least 2")
        return self


class ClusterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_kind: str | None = Field(default=None, description="Empty: each kind on its own.")
    radius_m: float = Field(default=500, ge=10, le=20_000)
    window_hours: float = Field(default=24, gt=0, le=24 * 30)


class ClusterRule(_RuleBase):
    """Incidents of one kind within radius_m and window_hours (levels.at: counts)."""

    kind: Literal[Kind.CLUSTER] = Kind.CLUSTER
    params: ClusterParams = Field(default_factory=ClusterParams)

    @model_validator(mode="after")
    def _range(self) -> ClusterRule:
        for i, lv in enumerate(self.levels):
            if float(lv.at) < 2 or float(lv.at) != int(float(lv.at)):
                raise ValueError(f"levels.{i}.at: a whole number of incidents, at least 2")
        return self


class DwellParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vehicle_classes: list[Literal["car", "motorcycle", "bus", "truck"]] = Field(
        default_factory=lambda: ["car", "motorcycle", "bus", "truck"], min_length=1
    )


def _minutes(levels: list[Level], what: str) -> None:
    for i, lv in enumerate(levels):
        if not 0 < float(lv.at) <= 24 * 60:
            raise ValueError(f"levels.{i}.at: minutes {what}, in (0, 1440]")


class DwellRule(_RuleBase):
    """The longest-parked vehicle of the chosen classes in a ROI (levels.at: minutes it has
    stood). A whole-camera (city, tag, kecamatan, camera) scope watches the camera's ROIs of
    kind ``no_parking``; a ROI scope watches that ROI whatever its kind. Evaluated by
    ``store.rules.stillness`` on each sample (``extra.rois[].dwell_s``, issue 13)."""

    kind: Literal[Kind.DWELL] = Kind.DWELL
    params: DwellParams = Field(default_factory=DwellParams)

    @model_validator(mode="after")
    def _range(self) -> DwellRule:
        _minutes(self.levels, "a vehicle has stood")
        return self


class DumpingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_objects: int = Field(
        default=1, ge=1, le=50, description="At least this many static objects in the ROI."
    )


class DumpingRule(_RuleBase):
    """A new static object (neither person nor vehicle: a bag, a heap) that has stayed in a
    ROI (levels.at: minutes since it appeared). A whole-camera scope watches the camera's
    ROIs of kind ``no_dumping``; a ROI scope that ROI. Evaluated by ``store.rules.stillness``
    (``extra.rois[].objects`` / ``object_dwell_s``)."""

    kind: Literal[Kind.DUMPING] = Kind.DUMPING
    params: DumpingParams = Field(default_factory=DumpingParams)

    @model_validator(mode="after")
    def _range(self) -> DumpingRule:
        _minutes(self.levels, "an object has stayed")
        return self


from store.rules.racing import RacingRule  # noqa: E402  (its own module; needs _RuleBase)

Rule = Annotated[
    FloodRule
    | CrowdRule
    | OfflineRule
    | SensorRule
    | SurgeRule
    | ClusterRule
    | DwellRule
    | RacingRule
    | DumpingRule,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)
_LIST_ADAPTER: TypeAdapter[Any] = TypeAdapter(list[Rule])

#: Kinds the engine evaluates (all of them since issue 13 measured dwell times).
EVALUATED = frozenset(Kind)


class RuleInvalid(ValueError):
    """A rule definition that cannot be used; ``problems`` lists ``field: why``."""

    def __init__(self, problems: list[str], name: str | None = None) -> None:
        self.problems = problems
        self.name = name
        where = f"rule {name!r}: " if name else ""
        super().__init__(where + "; ".join(problems))


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in {k.value for k in Kind}:
            loc = loc[1:]  # the discriminator tag pydantic puts first
        msg = err["msg"].removeprefix("Value error, ")
        if msg.split(":", 1)[0] in {"levels", "scope.type", "dedup", "title", "detail"} or (
            msg.startswith(("levels.", "params.", "scope."))
        ):
            out.append(msg)  # a model-level check that already names its field
        else:
            out.append(f"{'.'.join(loc) or 'rule'}: {msg}")
    return out


def parse_rule(data: Any) -> Any:
    """A validated rule model from a dict; raises :class:`RuleInvalid` naming the fields."""
    if not isinstance(data, dict):
        raise RuleInvalid(["rule: expected an object with name, kind, levels, title, ..."])
    if "kind" not in data:
        raise RuleInvalid(
            [f"kind: missing (one of {', '.join(k.value for k in Kind)})"], data.get("name")
        )
    if data.get("kind") not in {k.value for k in Kind}:
        raise RuleInvalid(
            [f"kind: {data.get('kind')!r} is not a rule kind (one of "
             f"{', '.join(k.value for k in Kind)})"],
            data.get("name"),
        )  # fmt: skip
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RuleInvalid(_problems(exc), data.get("name")) from None


def parse_rules(items: Any) -> list[Any]:
    """Validate a list of rules (all or none); names must be unique."""
    if not isinstance(items, list):
        raise RuleInvalid(["rules: expected a list of rules"])
    rules, problems = [], []
    for i, item in enumerate(items):
        try:
            rules.append(parse_rule(item))
        except RuleInvalid as exc:
            problems += [f"[{i}] {exc}"]
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"name: used more than once: {', '.join(dupes)}")
    if problems:
        raise RuleInvalid(problems)
    return rules


def dump_rule(rule: Any) -> dict[str, Any]:
    data = rule.model_dump(mode="json")
    if data.get("record_seconds") is None:  # the optional action, left out when unused
        data.pop("record_seconds", None)
    return data
