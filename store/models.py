"""The Pantau schema: SQLAlchemy 2 typed ORM models, one schema for SQLite and PostgreSQL.

Enumerated values are stored as short strings (portable, readable in SQL) and listed in the
``StrEnum`` classes below, which the code uses instead of literals.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.types import BigIntPK, UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


# --------------------------------------------------------------------------------------------
# Enumerations
# --------------------------------------------------------------------------------------------
class CameraOwner(StrEnum):
    DISKOMINFO = "diskominfo"
    POLRESTA = "polresta"
    DISHUB = "dishub"  # Dinas Perhubungan / ATCS
    RT = "rt"  # neighbourhood (rukun tetangga) cameras
    PRIVATE = "private"


class CameraProtocol(StrEnum):
    RTSP = "rtsp"
    HLS = "hls"
    MJPEG = "mjpeg"
    SNAPSHOT = "snapshot"  # HTTP JPEG snapshot URL
    FILE = "file"


class CameraStatus(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    DISABLED = "disabled"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"  # waspada
    CRITICAL = "critical"  # siaga / awas


class AlertStatus(StrEnum):
    """Where an operator stands with an alert (``store.alert_workflow``). Independent of
    ``Alert.ended_at``, which says the *condition* cleared (the engine closed it)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"  # to an operator and/or an OPD
    RESOLVED = "resolved"  # an operator closed it with an outcome


class AlertOutcome(StrEnum):
    """The fixed list an alert is resolved with (plus a free note)."""

    HANDLED = "handled"  # action taken on site
    REFERRED = "referred"  # handed to an agency outside the command center
    MONITORED = "monitored"  # watched; no action needed
    FALSE_ALARM = "false_alarm"
    DUPLICATE = "duplicate"  # another alert covers the same event
    EQUIPMENT = "equipment"  # a camera/sensor fault, sent to maintenance


class IncidentKind(StrEnum):
    CRIME = "crime"
    FIRE = "fire"
    TRAFFIC_ACCIDENT = "traffic_accident"
    FLOOD = "flood"
    ILLEGAL_DUMPING = "illegal_dumping"
    ILLEGAL_RACING = "illegal_racing"  # balap liar
    ILLEGAL_PARKING = "illegal_parking"
    STREET_CHILDREN = "street_children"  # anak jalanan
    CROWD = "crowd"
    STREET_VENDORS = "street_vendors"  # pedagang kaki lima
    OTHER = "other"


class IncidentStatus(StrEnum):
    OPEN = "open"
    HANDLING = "handling"
    CLOSED = "closed"


class ComplaintStatus(StrEnum):
    NEW = "new"
    VERIFIED = "verified"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class PrivacyMode(StrEnum):
    NORMAL = "normal"
    ANONYMOUS = "anonymous"  # identity hidden
    CONFIDENTIAL = "confidential"  # report not shown publicly


class ComplaintChannel(StrEnum):
    WEB = "web"
    SMS = "sms"
    OPEN311 = "open311"
    OPERATOR = "operator"


class Role(StrEnum):
    PIMPINAN = "pimpinan"  # mayor and officials: see everything, change nothing
    OPERATOR = "operator"
    ANALIS = "analis"
    ADMIN = "admin"
    OPD = "opd"  # a department's staff: follow up complaints dispatched to their own OPD only


class AreaLevel(StrEnum):
    KECAMATAN = "kecamatan"  # district
    KELURAHAN = "kelurahan"  # urban village, inside a kecamatan


class AreaSource(StrEnum):
    """Where a located row's ``kecamatan`` came from (``store.areas``)."""

    POLYGON = "polygon"  # the point lies in an imported boundary polygon
    INPUT = "input"  # outside every polygon (or none loaded): the string the source gave


class RollupPeriod(StrEnum):
    HOUR = "hour"
    DAY = "day"


# --------------------------------------------------------------------------------------------
# Cameras and what they observe
# --------------------------------------------------------------------------------------------
class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    kecamatan: Mapped[str | None] = mapped_column(String(100), index=True)
    kecamatan_input: Mapped[str | None] = mapped_column(String(100))  # as the source gave it
    kelurahan: Mapped[str | None] = mapped_column(String(100))  # from the kelurahan polygons
    area_source: Mapped[str | None] = mapped_column(String(8))  # AreaSource; NULL: not located
    address: Mapped[str | None] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(32), default=CameraOwner.DISKOMINFO)
    stream_url: Mapped[str | None] = mapped_column(String(1000))
    protocol: Mapped[str] = mapped_column(String(16), default=CameraProtocol.SNAPSHOT)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sample_interval_s: Mapped[int] = mapped_column(Integer, default=60)
    detector: Mapped[str | None] = mapped_column(String(32))  # None: installation default
    #: Regions of interest: [{"name": str, "kind": "crowd"|"road"|"flood", "points": [[x, y]...],
    #: "area_m2": float?}] with points in relative frame coordinates (0..1).
    rois: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Counting lines: [{"name": str, "a": [x, y], "b": [x, y]}] in relative coordinates.
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Free-form analytics settings (thresholds, dry reference file...).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # e.g. ["traffic", "flood"]
    status: Mapped[str] = mapped_column(String(16), default=CameraStatus.UNKNOWN, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    last_seen_at: Mapped[datetime | None]
    last_snapshot: Mapped[str | None] = mapped_column(String(300))  # path under var/snapshots
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    observations: Mapped[list[Observation]] = relationship(back_populates="camera")

    def __repr__(self) -> str:
        return f"<Camera {self.code} {self.name!r} {self.status}>"


def _slot_default(context: Any) -> datetime | None:
    """A row written without a schedule slot (imports, demo data, tests) is keyed by its ts."""
    return context.get_current_parameters().get("ts")


class Observation(Base):
    """One analysed sample of one camera.

    ``slot`` is the schedule slot the sample was due in (UTC): the idempotency key, unique per
    camera, so re-delivered work (a Celery retry, a worker restart) is a no-op. ``ts`` is when
    the frame was taken (a second or two after the slot for a stream, more on a busy Celery
    queue); dashboards and rollups read ``ts``. ``people``/``vehicles_*`` are NULL when the count
    is unknown (a camera without analysis history: ``extra.cold`` is true) — never 0.
    """

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("camera_id", "slot", name="uq_observation_camera_slot"),
        Index("ix_observations_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    slot: Mapped[datetime] = mapped_column(default=_slot_default)
    ts: Mapped[datetime]
    people: Mapped[int | None] = mapped_column(Integer)
    crowd_density: Mapped[float | None] = mapped_column(Float)  # people per 100 m2 (or per ROI)
    vehicles_car: Mapped[int | None] = mapped_column(Integer)
    vehicles_motorcycle: Mapped[int | None] = mapped_column(Integer)
    vehicles_bus: Mapped[int | None] = mapped_column(Integer)
    vehicles_truck: Mapped[int | None] = mapped_column(Integer)
    vehicles_total: Mapped[int | None] = mapped_column(Integer)
    flow_in: Mapped[int | None] = mapped_column(Integer)  # line crossings, direction a->b
    flow_out: Mapped[int | None] = mapped_column(Integer)
    motion_ratio: Mapped[float | None] = mapped_column(Float)
    water_coverage: Mapped[float | None] = mapped_column(Float)  # share 0..1 of the road ROI
    water_confidence: Mapped[float | None] = mapped_column(Float)
    analyser: Mapped[str | None] = mapped_column(String(64))
    reused: Mapped[bool] = mapped_column(Boolean, default=False)  # counts carried over (no motion)
    processing_ms: Mapped[float | None] = mapped_column(Float)
    snapshot: Mapped[str | None] = mapped_column(String(300))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    camera: Mapped[Camera] = relationship(back_populates="observations")


class CameraState(Base):
    """A camera's serialised analysis state (background estimate...), persisted by the local
    pool so a restart resumes warm (``ingestion.state_store.DatabaseStateStore``).

    ``config_key`` identifies the analytics configuration the state was built for (a state of
    another configuration is not loaded); ``warm`` says whether it holds enough history to
    count; ``sample_ts`` is the frame time of the last sample folded into it (a state never
    replaces a newer one)."""

    __tablename__ = "camera_states"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    config_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    warm: Mapped[bool] = mapped_column(Boolean, default=True)  # enough history to count
    sample_ts: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ObservationRollup(Base):
    """Hourly and daily aggregates of observations: what the dashboards read. Hourly rows come
    from the raw observations, daily rows from the hourly ones (``store.rollups``); hourly rows
    are kept ``hourly_rollup_retention_days``, daily rows for ever."""

    __tablename__ = "observation_rollups"
    __table_args__ = (
        UniqueConstraint("camera_id", "period", "bucket", name="uq_rollup_camera_period_bucket"),
        Index("ix_rollups_period_bucket", "period", "bucket"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))  # RollupPeriod
    bucket: Mapped[datetime]  # start of the hour/day, UTC
    samples: Mapped[int] = mapped_column(Integer, default=0)
    people_avg: Mapped[float | None] = mapped_column(Float)
    people_max: Mapped[int | None] = mapped_column(Integer)
    vehicles_avg: Mapped[float | None] = mapped_column(Float)
    vehicles_max: Mapped[int | None] = mapped_column(Integer)
    car_avg: Mapped[float | None] = mapped_column(Float)
    motorcycle_avg: Mapped[float | None] = mapped_column(Float)
    bus_avg: Mapped[float | None] = mapped_column(Float)
    truck_avg: Mapped[float | None] = mapped_column(Float)
    flow_in_sum: Mapped[int | None] = mapped_column(Integer)
    flow_out_sum: Mapped[int | None] = mapped_column(Integer)
    motion_avg: Mapped[float | None] = mapped_column(Float)
    water_avg: Mapped[float | None] = mapped_column(Float)
    water_max: Mapped[float | None] = mapped_column(Float)
    # how many values each mean is over (samples with the measurement): daily rows are built
    # from the hourly ones as weighted means, exactly as from the raw rows (vehicle classes
    # come with vehicles_total and share its count)
    people_n: Mapped[int] = mapped_column(Integer, default=0)
    vehicles_n: Mapped[int] = mapped_column(Integer, default=0)
    motion_n: Mapped[int] = mapped_column(Integer, default=0)
    water_n: Mapped[int] = mapped_column(Integer, default=0)


class AreaRollup(Base):
    """Rollups summed over the cameras of one kecamatan per hour/day bucket.

    City-wide and per-kecamatan trends read these (thousands of rows a year) instead of the
    per-camera rollups (millions). Averages are kept as sum and count so they aggregate exactly;
    refreshed with the camera rollups by ``store.rollups.refresh_area_rollups``.
    """

    __tablename__ = "area_rollups"
    __table_args__ = (
        UniqueConstraint("kecamatan", "period", "bucket", name="uq_area_rollup_kec_period_bucket"),
        Index("ix_area_rollups_period_bucket", "period", "bucket"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kecamatan: Mapped[str] = mapped_column(String(100))  # '' when cameras have none
    period: Mapped[str] = mapped_column(String(8))  # RollupPeriod
    bucket: Mapped[datetime]
    cameras: Mapped[int] = mapped_column(Integer, default=0)  # camera rollups summed
    samples: Mapped[int] = mapped_column(Integer, default=0)
    people_sum: Mapped[float | None] = mapped_column(Float)  # sum of people_avg
    people_n: Mapped[int] = mapped_column(Integer, default=0)
    people_max: Mapped[int | None] = mapped_column(Integer)
    vehicles_sum: Mapped[float | None] = mapped_column(Float)  # sum of vehicles_avg
    vehicles_n: Mapped[int] = mapped_column(Integer, default=0)
    vehicles_max: Mapped[int | None] = mapped_column(Integer)
    flow_sum: Mapped[int | None] = mapped_column(Integer)  # flow_in_sum + flow_out_sum
    water_max: Mapped[float | None] = mapped_column(Float)
    wet_n: Mapped[int] = mapped_column(Integer, default=0)  # cameras with water_max >= 0.3


class CameraMonthRollup(Base):
    """Per-camera sums over a local calendar month, built from the daily rollups: year-long
    rankings of cameras (top locations, map layers) read 12 rows per camera instead of 365.
    Kept as sums and day counts so partial months combine exactly with daily rows."""

    __tablename__ = "camera_month_rollups"
    __table_args__ = (
        UniqueConstraint("camera_id", "bucket", name="uq_camera_month_rollup"),
        Index("ix_camera_month_rollups_bucket", "bucket"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    bucket: Mapped[datetime]  # UTC instant the local month starts
    days: Mapped[int] = mapped_column(Integer, default=0)  # daily rollups summed
    flow_sum: Mapped[int | None] = mapped_column(Integer)  # flow_in_sum + flow_out_sum
    people_sum: Mapped[float | None] = mapped_column(Float)  # sum of daily people_avg
    people_n: Mapped[int] = mapped_column(Integer, default=0)
    people_max: Mapped[int | None] = mapped_column(Integer)
    vehicles_sum: Mapped[float | None] = mapped_column(Float)  # sum of daily vehicles_avg
    vehicles_n: Mapped[int] = mapped_column(Integer, default=0)
    water_max: Mapped[float | None] = mapped_column(Float)
    wet_days: Mapped[int] = mapped_column(Integer, default=0)  # days with water_max >= 0.3


class CameraDayTotal(Base):
    """Running totals per camera up to and including a local day (prefix sums of the daily
    rollups, carried forward over days without data): the sum, mean or count of days of any
    range of whole days is the difference of two rows per camera, so rankings of 10,693
    cameras (top locations, map layers) read ~21k rows whatever the range, instead of one
    daily row per camera and day. Kept by ``store.rollups.refresh_camera_day_totals``."""

    __tablename__ = "camera_day_totals"
    __table_args__ = (UniqueConstraint("day", "camera_id", name="uq_camera_day_total"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    day: Mapped[datetime]  # UTC instant the local day starts (the daily rollup's bucket)
    days: Mapped[int] = mapped_column(Integer, default=0)  # daily rollups so far
    flow: Mapped[int] = mapped_column(BigInteger, default=0)  # flow_in_sum + flow_out_sum
    people_sum: Mapped[float] = mapped_column(Float, default=0.0)  # daily people_avg summed
    people_n: Mapped[int] = mapped_column(Integer, default=0)
    vehicles_sum: Mapped[float] = mapped_column(Float, default=0.0)
    vehicles_n: Mapped[int] = mapped_column(Integer, default=0)
    wet_days: Mapped[int] = mapped_column(Integer, default=0)  # days with water_max >= 0.3


class CameraStatusEvent(Base):
    __tablename__ = "camera_status_events"
    __table_args__ = (Index("ix_camera_status_events_camera_ts", "camera_id", "ts"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))


class Area(Base):
    """A district boundary (kecamatan) or urban village (kelurahan), imported from GeoJSON by
    ``pantau import areas`` (``store.areas``). Rows with lat/lon get their kecamatan/kelurahan
    from these polygons; the bounding box is a cheap prefilter."""

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("level", "name", name="uq_area_level_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # AreaLevel
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32))  # e.g. the BPS/Kemendagri code
    parent: Mapped[str | None] = mapped_column(String(100))  # a kelurahan's kecamatan
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon/MultiPolygon, WGS84
    area_km2: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComplaintAreaDay(Base):
    """Complaints per UTC day of intake and kecamatan ('' when none): the "by kecamatan"
    ranking of the complaints page sums these. Rejected and duplicate reports are not
    counted. Kept by store.complaints with each report and status change; rebuilt by
    ``store.complaints.rebuild_area_days`` after bulk loads and after areas are imported."""

    __tablename__ = "complaint_area_days"
    __table_args__ = (UniqueConstraint("day", "kecamatan", name="uq_complaint_area_day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    kecamatan: Mapped[str] = mapped_column(String(100))
    reports: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)


class AlertRule(Base):
    """One alert rule (``store.rules``): the validated definition (kind, scope, condition,
    levels, durations, templates) as JSON, with the columns the engine filters on."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # store.rules.schema.Kind
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    scope_type: Mapped[str] = mapped_column(String(16), default="city")  # ScopeType
    scope_value: Mapped[str | None] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class AlertRuleState(Base):
    """What a rule remembers about one subject between evaluations (survives restarts and is
    shared by every ingestion process): since when the condition holds (minimum duration
    before opening) and since when it has cleared (hysteresis in time before closing)."""

    __tablename__ = "alert_rule_states"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    pending_since: Mapped[datetime | None]
    clear_since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_open", "ended_at", "severity"),
        # one open alert per deduplication key, whichever process opens it (demo rows too)
        Index(
            "uq_alerts_open_dedup",
            "dedup_key",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))  # e.g. flood_coverage, crowd_density, offline
    severity: Mapped[str] = mapped_column(String(16), default=AlertSeverity.WARNING)
    subject_type: Mapped[str] = mapped_column(String(32))  # camera, sensor, complaint, opd
    subject_id: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    evidence_path: Mapped[str | None] = mapped_column(String(300))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"))
    #: one event, one alert: the rule's key for the subject (e.g. ``flood_coverage:camera:X``)
    dedup_key: Mapped[str | None] = mapped_column(String(200), index=True)
    #: the word on the kind's own scale (flood waspada/siaga/awas, camera gangguan/mati);
    #: ``severity`` stays the normalised info/warning/critical that sorting and routing use
    level: Mapped[str | None] = mapped_column(String(32))
    # -- response workflow (store.alert_workflow; every change also on the timeline) --------
    #: AlertStatus: open -> acknowledged -> assigned -> resolved (an operator's view; the
    #: condition itself clearing is ``ended_at``)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN, index=True)
    assigned_user: Mapped[str | None] = mapped_column(String(100))  # a username
    assigned_opd_id: Mapped[int | None] = mapped_column(
        ForeignKey("opd.id", ondelete="SET NULL"), index=True
    )
    assigned_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    #: "pimpinan" (the leadership was called in) and/or the severity raised to, e.g.
    #: "critical" or "pimpinan,critical"
    escalated_to: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(32))  # AlertOutcome
    outcome_note: Mapped[str | None] = mapped_column(Text)

    assigned_opd: Mapped[Opd | None] = relationship()


class AlertEvent(Base):
    """The timeline of one alert: opened/escalated/cleared by the engine (written by the
    flush hook in ``store.alert_timeline``) and every operator action with its actor."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert_at", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # a username, or "sistem" for the engine
    #: opened, severity, level, cleared, acknowledged, assigned, note, escalated, resolved,
    #: sop_tick, sop_untick
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    alert: Mapped[Alert] = relationship()


class SopTemplate(Base):
    """The standard operating procedure for one alert kind (``Alert.rule``): ordered steps,
    each ``{"key": str, "id": Indonesian text, "en": English text}``. Defaults come from
    data/sop_templates.json (``store.alert_sop``); a row here replaces them for its kind."""

    __tablename__ = "sop_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), unique=True)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class AlertSopTick(Base):
    """One SOP step ticked on one alert: who and when (the step's text as it read then)."""

    __tablename__ = "alert_sop_ticks"
    __table_args__ = (UniqueConstraint("alert_id", "step_key", name="uq_alert_sop_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(64))
    step_text: Mapped[str] = mapped_column(String(500))
    ticked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ticked_by: Mapped[str] = mapped_column(String(100))


class IncidentDay(Base):
    """Incidents per local day (``utc_offset`` hours east of UTC, the city's), kind and
    kecamatan ('' when none; '*' for all of them): the security page's trend, top kecamatan and area ranking sum
    these instead of counting a year of incidents. Kept by database triggers on ``incidents``
    (every write path: ORM, Core, imports, SQL), installed and checked by
    ``store.incident_days.install``; rebuilt from the incidents by
    ``store.incident_days.rebuild`` (a changed timezone, an older database)."""

    __tablename__ = "incident_days"
    # primary key (offset, kecamatan, day, kind): a period of the all-kecamatan rows ('*') or
    # of one kecamatan is one contiguous range; SQLite stores rows in that order (no rowid).
    # No index on the day: the top-kecamatan ranking reads the offset's rows in key order
    # (SQLite took a day index and paid a key lookup per row: 10 -> 40 ms for a year)
    __table_args__ = {"sqlite_with_rowid": False}

    utc_offset: Mapped[int] = mapped_column(Integer, primary_key=True)
    kecamatan: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_kind_time", "kind", "occurred_at"),
        # the security page, the situation room's "today" and the incident map read a period
        # of every kind: covering (counts per period/kind/kecamatan never touch the table;
        # a year at ~300 a day: 290 -> 95 ms on SQLite)
        Index("ix_incidents_period", "occurred_at", "kind", "kecamatan", "camera_id"),
        # rows fed by an agency (file import, /api/v1/incidents) are keyed by their own id;
        # demo and camera-made rows have no external_id (NULLs never collide)
        UniqueConstraint("source", "external_id", name="uq_incident_source_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # IncidentKind
    #: who reported it: an agency feed (polresta, damkar, satpolpp, dishub, bpbd...; the API
    #: key's scope) or, for demo rows, cctv, call112, police, citizen
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128))  # the agency's own id
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kecamatan: Mapped[str | None] = mapped_column(String(100), index=True)
    kecamatan_input: Mapped[str | None] = mapped_column(String(100))  # as the source gave it
    kelurahan: Mapped[str | None] = mapped_column(String(100))  # from the kelurahan polygons
    area_source: Mapped[str | None] = mapped_column(String(8))  # AreaSource; NULL: not located
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the event itself ended (fire out, road clear), as the agency reports it
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN)
    #: when the record was closed: set exactly while status is closed (ended_at if known)
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


# --------------------------------------------------------------------------------------------
# IoT sensors
# --------------------------------------------------------------------------------------------
class Sensor(Base):
    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # water_level, rainfall, air_quality...
    unit: Mapped[str] = mapped_column(String(16))  # cm, mm/h, ug/m3
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    kecamatan_input: Mapped[str | None] = mapped_column(String(100))  # as the registry gave it
    kelurahan: Mapped[str | None] = mapped_column(String(100))  # from the kelurahan polygons
    area_source: Mapped[str | None] = mapped_column(String(8))  # AreaSource; NULL: not located
    warning_level: Mapped[float | None] = mapped_column(Float)  # waspada
    danger_level: Mapped[float | None] = mapped_column(Float)  # siaga
    #: Plausible readings (ingestion/sensor_ranges.py; NULL: the default for the kind):
    #: below min, above max or changing faster than max_rate_per_min units a minute -> rejected.
    plausible_min: Mapped[float | None] = mapped_column(Float)
    plausible_max: Mapped[float | None] = mapped_column(Float)
    max_rate_per_min: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)
    last_seen_at: Mapped[datetime | None]


class SensorReading(Base):
    __tablename__ = "sensor_readings"
    __table_args__ = (UniqueConstraint("sensor_id", "ts", name="uq_sensor_reading_sensor_ts"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensors.id", ondelete="CASCADE"))
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)


# --------------------------------------------------------------------------------------------
# OPD (city departments) and their indicators
# --------------------------------------------------------------------------------------------
class Opd(Base):
    __tablename__ = "opd"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(64))
    #: Complaint categories routed to this OPD by default.
    categories: Mapped[list[Any]] = mapped_column(JSON, default=list)

    indicators: Mapped[list[OpdIndicator]] = relationship(back_populates="opd")


class OpdIndicator(Base):
    __tablename__ = "opd_indicators"
    __table_args__ = (UniqueConstraint("opd_id", "code", name="uq_opd_indicator_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(32))
    target: Mapped[float | None] = mapped_column(Float)
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    #: IndicatorFrequency: monthly (period ``YYYY-MM``), quarterly (``YYYY-Qn``), yearly (``YYYY``)
    frequency: Mapped[str] = mapped_column(String(16), default="monthly")
    #: Plausible values (store/indicators.py; NULL: the unit's default, e.g. 0..1000 for "%"):
    #: a value outside is refused with the reason.
    plausible_min: Mapped[float | None] = mapped_column(Float)
    plausible_max: Mapped[float | None] = mapped_column(Float)

    opd: Mapped[Opd] = relationship(back_populates="indicators")
    values: Mapped[list[OpdIndicatorValue]] = relationship(back_populates="indicator")


class OpdIndicatorValue(Base):
    __tablename__ = "opd_indicator_values"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period_start", name="uq_indicator_value_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("opd_indicators.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    #: Who and how the current value came (store/indicators.py); NULL on demo rows.
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(100))  # username or API key name
    updated_by_kind: Mapped[str | None] = mapped_column(String(16))  # IndicatorActorKind
    source: Mapped[str | None] = mapped_column(String(16))  # IndicatorSource
    source_ref: Mapped[str | None] = mapped_column(String(200))  # file name of an import/upload

    indicator: Mapped[OpdIndicator] = relationship(back_populates="values")


class IndicatorFrequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class IndicatorSource(StrEnum):
    IMPORT = "import"  # pantau import indicators FILE
    UPLOAD = "upload"  # the upload on /indikator-opd
    API = "api"  # PUT /api/v1/indicators/...


class IndicatorActorKind(StrEnum):
    USER = "user"  # a signed-in account (upload)
    API_KEY = "api_key"  # an OPD's API key (its name)
    CLI = "cli"  # the command line (the --by name or the system user)


class OpdIndicatorValueChange(Base):
    """Every write of an indicator value: a new value (``old_value`` NULL) or a correction, with
    who, when and from where. Append-only; an unchanged re-send writes no row."""

    __tablename__ = "opd_indicator_value_changes"
    __table_args__ = (
        Index("ix_indicator_value_changes_ind_period", "indicator_id", "period_start", "id"),
        Index("ix_indicator_value_changes_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("opd_indicators.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    old_value: Mapped[float | None] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    old_note: Mapped[str | None] = mapped_column(Text)
    new_note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    actor_kind: Mapped[str] = mapped_column(String(16))  # IndicatorActorKind
    source: Mapped[str] = mapped_column(String(16))  # IndicatorSource
    source_ref: Mapped[str | None] = mapped_column(String(200))
    ts: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------------------------
# E-Lapor complaints
# --------------------------------------------------------------------------------------------
class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status_created", "status", "created_at"),
        Index("ix_complaints_created", "created_at"),
        # covering index for the server-side heatmap (period, category, status -> lat/lon)
        Index("ix_complaints_heat", "created_at", "category", "status", "lat", "lon"),
        # per-OPD performance: one index range per OPD and period, no sort, no table lookups
        Index(
            "ix_complaints_opd_stats",
            "opd_id",
            "created_at",
            "status",
            "dispatched_at",
            "dispatch_due",
            "followed_up_at",
            "followup_due",
            "resolved_at",
        ),
        # covering index for the live map: open reports, and those closed in the last days
        Index("ix_complaints_live", "status", "updated_at", "category", "lat", "lon"),
        # covering index for the deadlines missed now (KPIs, per-OPD "late now"): one range
        # per status and deadline, instead of a row lookup per open report
        Index(
            "ix_complaints_overdue",
            "status",
            "followup_due",
            "dispatch_due",
            "opd_id",
            "created_at",
        ),
        # covering index for "late now" per kecamatan (the complaints page's per-kecamatan
        # card): one range per status, grouped in index order
        Index("ix_complaints_area_late", "status", "kecamatan", "dispatch_due", "followup_due"),
        # covering index for deadline statistics (KPIs, per-OPD performance) by period
        Index(
            "ix_complaints_stats",
            "created_at",
            "opd_id",
            "status",
            "dispatched_at",
            "dispatch_due",
            "followed_up_at",
            "followup_due",
            "resolved_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tracking_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    kecamatan_input: Mapped[str | None] = mapped_column(String(100))  # as the reporter gave it
    kelurahan: Mapped[str | None] = mapped_column(String(100))  # from the kelurahan polygons
    area_source: Mapped[str | None] = mapped_column(String(8))  # AreaSource; NULL: not located
    privacy: Mapped[str] = mapped_column(String(16), default=PrivacyMode.NORMAL)
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_contact: Mapped[str | None] = mapped_column(String(200))  # phone or e-mail
    channel: Mapped[str] = mapped_column(String(16), default=ComplaintChannel.WEB)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # SMS message id
    status: Mapped[str] = mapped_column(String(16), default=ComplaintStatus.NEW)
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opd.id", ondelete="SET NULL"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    photo_path: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    verified_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    dispatch_due: Mapped[datetime | None]  # 3 working days after intake
    followup_due: Mapped[datetime | None]  # 5 working days after dispatch
    autoclose_due: Mapped[datetime | None]  # 10 working days after follow-up
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    opd: Mapped[Opd | None] = relationship()
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.ts"
    )


class ComplaintCameraSnapshot(Base):
    """The latest snapshot of a camera near a report, copied when the report arrived
    (``store.complaint_cameras``): staff see what the place looked like at once. Staff only:
    never on public pages or Open311. ``path`` is under ``settings.evidence_dir``."""

    __tablename__ = "complaint_camera_snapshots"
    __table_args__ = (
        UniqueConstraint("complaint_id", "camera_id", name="uq_complaint_camera_snapshot"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"))
    camera_code: Mapped[str] = mapped_column(String(64))
    camera_name: Mapped[str] = mapped_column(String(200))
    distance_m: Mapped[float] = mapped_column(Float)
    taken_at: Mapped[datetime | None]  # the camera's last_seen_at when copied
    path: Mapped[str | None] = mapped_column(String(300))  # None: the camera had no snapshot
    sha256: Mapped[str | None] = mapped_column(String(64))
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComplaintEvent(Base):
    """Status history: every change with who, when and a note."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opd.id", ondelete="SET NULL"))

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class ComplaintCellMonth(Base):
    """Complaints per calendar month (UTC), category and grid cell (store.complaints.CELL_DEG):
    the long-period heatmap sums these instead of a million rows. Category ``*`` holds every
    category. Kept by store.complaints in the same transaction as each report and status
    change; ``rebuild_cell_months`` recomputes it after bulk loads."""

    __tablename__ = "complaint_cell_months"
    __table_args__ = (
        UniqueConstraint("month", "category", "cy", "cx", name="uq_complaint_cell_month"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    month: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(64))
    cy: Mapped[int] = mapped_column(Integer)
    cx: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)  # rejected/duplicate not counted
    open: Mapped[int] = mapped_column(Integer, default=0)


class ComplaintOpdDay(Base):
    """Reports routed to an OPD (its current ``opd_id``) per UTC day of intake and category
    (``*``: every category): counts, deadline counts and the exact durations to dispatch and to resolve (packed sorted
    little-endian int64 microseconds), so per-OPD statistics over a year, medians included,
    read a few thousand rows instead of a million reports. Kept by store.complaints in the same
    transaction as each status change; ``rebuild_opd_days`` recomputes it after bulk loads."""

    __tablename__ = "complaint_opd_days"
    # category first: a period's ``*`` rows (or one category's) are one index range
    __table_args__ = (UniqueConstraint("category", "day", "opd_id", name="uq_complaint_opd_day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)  # UTC date of created_at
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(64))
    reports: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)  # status still open
    dispatch_ok: Mapped[int] = mapped_column(Integer, default=0)  # dispatched_at <= dispatch_due
    followup_n: Mapped[int] = mapped_column(Integer, default=0)  # followed_up_at set
    followup_ok: Mapped[int] = mapped_column(Integer, default=0)  # followed_up_at <= followup_due
    dispatch_us: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # dispatched - created
    resolve_us: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # resolved - created


class SmsStatus(StrEnum):
    TRIAGE = "triage"  # free text: waits for an operator to structure it
    CONVERTED = "converted"  # became a complaint
    DISCARDED = "discarded"  # spam, test, not a complaint


class SmsMessage(Base):
    """Every SMS the gateway delivered, once per gateway message id (redeliveries are no-ops)."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)  # gateway message id
    sender: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=SmsStatus.TRIAGE)
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id", ondelete="SET NULL")
    )
    handled_by: Mapped[str | None] = mapped_column(String(100))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------------------------
# Users, roles, audit
# --------------------------------------------------------------------------------------------
class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default=Role.OPERATOR)
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opd.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Kept in the session cookie and checked on every request: bumped on sign-out, password
    #: or role change and deactivation, so every cookie issued before is refused.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiKey(Base):
    """A machine credential for an agency or OPD system (``store.api_keys``): only the SHA-256
    of the token is kept, plus a short visible prefix to tell keys apart. ``scopes`` lists what
    the key may write, e.g. ``["incidents:polresta", "indicators:DISHUB"]``; a revoked key
    (``revoked_at`` set) is refused from then on."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ts", "ts"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))  # login, login_failed, export, view_camera
    target: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class WallGroup(Base):
    """A camera group an operator saved for the video wall (``/dinding``, store.wall_groups):
    a name and the camera codes in the order the wall shows them. Codes of cameras deleted
    since are skipped when the group is shown."""

    __tablename__ = "wall_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    cameras: Mapped[list[Any]] = mapped_column(JSON, default=list)  # camera codes, in order
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --------------------------------------------------------------------------------------------
# Notifications: channels, routes and the outbox (store.outbox, ingestion.notify)
# --------------------------------------------------------------------------------------------
class ChannelKind(StrEnum):
    WEBHOOK = "webhook"  # signed JSON POST (X-Pantau-Signature, X-Pantau-Delivery)
    MQTT = "mqtt"  # JSON on an MQTT topic, QoS 1
    EMAIL = "email"  # SMTP
    HTTP = "http"  # URL + body templates: Telegram bot, WhatsApp gateway...


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    DELIVERING = "delivering"  # leased by a dispatcher (lease_until)
    DELIVERED = "delivered"  # the receiver acknowledged it
    DEAD = "dead"  # gave up (max attempts, refused target): admins retry from the page


class NotificationChannel(Base):
    """Where notifications go. ``config`` holds the kind's target (``url``, ``secret``,
    ``topic``, ``to``, ``url_template``, ``body_template``...); ``source`` is ``env`` for the
    channels seeded from the PANTAU_NOTIFY_* settings, ``admin`` for those made on the page."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # ChannelKind
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "22:00" local time
    quiet_end: Mapped[str | None] = mapped_column(String(5))  # "06:00"
    source: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    routes: Mapped[list[NotificationRoute]] = relationship(
        back_populates="channel", cascade="all, delete-orphan"
    )


class NotificationRoute(Base):
    """Which events a channel gets: rule kind (``*`` for all), minimum severity, event types
    (empty: all). A channel gets an event when any of its enabled routes matches."""

    __tablename__ = "notification_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(80), default="*")  # kind, * or rule:<name>
    min_severity: Mapped[str] = mapped_column(String(16), default=AlertSeverity.INFO)
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    channel: Mapped[NotificationChannel] = relationship(back_populates="routes")


class OutboxMessage(Base):
    """One message for one channel, written in the transaction of the change that caused it.
    ``(event_key, channel_id)`` is unique: an event reaches a channel once; ``delivery_id`` is
    the idempotency key receivers see (``X-Pantau-Delivery``), the same on every retry."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_key", "channel_id", name="uq_outbox_event_channel"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(200))  # e.g. alert:12:opened
    event_type: Mapped[str] = mapped_column(String(64))  # alert.opened, briefing.daily, test
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    severity: Mapped[str] = mapped_column(String(16), default=AlertSeverity.INFO)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    held_until: Mapped[datetime | None]  # quiet hours: not sent before this
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


# --------------------------------------------------------------------------------------------
# Recorded evidence: clips and frames with their SHA-256 and a chain of custody (store.evidence)
# --------------------------------------------------------------------------------------------
class EvidenceStatus(StrEnum):
    QUEUED = "queued"  # asked for (a button, a rule); the recorder service picks it up
    RECORDING = "recording"
    COMPLETE = "complete"  # recorded as long as asked (within a margin)
    PARTIAL = "partial"  # the camera failed or stopped early: what was recorded is kept, hashed
    FAILED = "failed"  # nothing usable was recorded (reason says why)


class EvidenceTrigger(StrEnum):
    USER = "user"  # a staff member pressed "Rekam" (camera page or alert)
    RULE = "rule"  # an alert rule with record_seconds opened an alert
    CLI = "cli"  # pantau evidence record


class EvidenceFileKind(StrEnum):
    CLIP = "clip"  # a video file (MP4)
    FRAME = "frame"  # original camera frames (JPEG, or the camera's JPEGs one after another)
    INDEX = "index"  # what the frames are: their capture times and hashes (JSON)
    SUMMARY = "summary"  # a readable summary


class CustodyAction(StrEnum):
    CREATED = "created"
    RECORDED = "recorded"  # recording finished (complete, partial or failed)
    VIEWED = "viewed"
    EXPORTED = "exported"  # a package was written (CLI)
    DOWNLOADED = "downloaded"  # a package or file was sent to a browser
    HELD = "held"  # held for a case: never pruned
    RELEASED = "released"
    PRUNED = "pruned"  # files deleted by retention or the disk quota (the record stays)


class EvidenceItem(Base):
    """One recording: what camera, where, when (wall clock and the clip's own timeline), who
    or what started it, how it went. Rows are never deleted; pruning deletes the files and
    sets ``pruned_at``."""

    __tablename__ = "evidence_items"
    __table_args__ = (Index("ix_evidence_items_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(
        ForeignKey("cameras.id", ondelete="SET NULL"), index=True
    )
    camera_code: Mapped[str] = mapped_column(String(64))
    camera_name: Mapped[str] = mapped_column(String(200))
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(300))  # address, or "lat, lon"
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    stream_kind: Mapped[str] = mapped_column(String(16))  # CameraProtocol
    #: how the clip was made: "stream_copy" (RTSP/HLS, no re-encode) or "frames_h264"
    method: Mapped[str | None] = mapped_column(String(32))
    requested_seconds: Mapped[int] = mapped_column(Integer)
    preroll_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    trigger: Mapped[str] = mapped_column(String(8))  # EvidenceTrigger
    started_by: Mapped[str] = mapped_column(String(100))  # username, "rule:NAME", "cli:USER"
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=EvidenceStatus.QUEUED)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: wall clock (UTC) of the first and last frame or packet received
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    #: the clip's own timeline as ffprobe reads it: first timestamp and duration (seconds)
    stream_start_s: Mapped[float | None] = mapped_column(Float)
    stream_duration_s: Mapped[float | None] = mapped_column(Float)
    frames: Mapped[int | None] = mapped_column(Integer)  # frame-based recordings
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    held_for_case: Mapped[bool] = mapped_column(Boolean, default=False)
    case_ref: Mapped[str | None] = mapped_column(String(100))
    pruned_at: Mapped[datetime | None]

    files: Mapped[list[EvidenceFile]] = relationship(
        back_populates="item", order_by="EvidenceFile.id"
    )
    alert: Mapped[Alert | None] = relationship()


class EvidenceFile(Base):
    """One file of an evidence item, under ``settings.evidence_dir``, with its SHA-256."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(300))  # relative to settings.evidence_dir
    kind: Mapped[str] = mapped_column(String(16))  # EvidenceFileKind
    mime: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]  # pruned

    item: Mapped[EvidenceItem] = relationship(back_populates="files")


class EvidenceCustody(Base):
    """The chain of custody: append-only, one row per thing done to an evidence item."""

    __tablename__ = "evidence_custody"
    __table_args__ = (Index("ix_evidence_custody_item_at", "item_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))  # CustodyAction
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
