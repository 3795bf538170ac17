"""Pantau settings: one pydantic model, every field has a default and a description.

Every field can be set with an environment variable named ``PANTAU_<FIELD>`` (for example
``PANTAU_DATABASE_URL``) or in a ``.env`` file in the working directory.
"""

from __future__ import annotations

import hashlib
import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Repository root (the folder holding pyproject.toml, data/ and assets/).
ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
ASSETS_DIR = ROOT / "assets"


def parse_bbox(value: str) -> tuple[float, float, float, float] | None:
    """'min_lon,min_lat,max_lon,max_lat' -> floats; '' -> None. ValueError when malformed."""
    if not value.strip():
        return None
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        raise ValueError(f"city_bbox {value!r}: four numbers expected") from None
    if len(parts) != 4:
        raise ValueError(f"city_bbox {value!r}: min_lon,min_lat,max_lon,max_lat expected")
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ValueError(f"city_bbox {value!r}: not a WGS84 box (min before max)")
    return parts  # type: ignore[return-value]


class Settings(BaseSettings):
    """Runtime configuration of a Pantau installation."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_", env_file=".env", extra="ignore")

    # --- storage -------------------------------------------------------------------------
    var_dir: Path = Field(
        default=ROOT / "var",
        description="Runtime state: SQLite file, snapshots, evidence frames, logs. Git ignores it.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means an embedded SQLite file var_dir/pantau.db. "
        "Production: postgresql+psycopg://user:pass@host:5432/pantau",
    )
    observation_retention_days: int = Field(
        default=3,
        ge=0,
        description="Raw observations (one row per camera sample) are kept for today (UTC) plus "
        "this many whole UTC days before it; older ones are pruned daily (`pantau db prune`, "
        "and by the ingestion writer). Rollups are kept. 0 keeps raw rows forever. 10,693 "
        "cameras at one sample a minute write ~15.4 million rows a day.",
    )
    hourly_rollup_retention_days: int = Field(
        default=90,
        ge=0,
        description="Per-camera hourly rollups are kept this many days (daily, monthly and "
        "per-kecamatan rollups are kept for ever). Must cover the longest hourly chart with its "
        "context (31 days + previous period = 62). 0 keeps them forever.",
    )
    partitions_ahead_days: int = Field(
        default=3,
        ge=1,
        le=60,
        description="PostgreSQL: daily partitions of the observations table created this many "
        "days ahead by the daily maintenance (a write into a day without one creates it).",
    )

    # --- web -----------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address the dashboard listens on.")
    port: int = Field(default=8050, ge=1, le=65535, description="Port the dashboard listens on.")
    secret_key: str = Field(
        default="",
        description="Secret for session cookies. Empty: a random key is generated and kept in "
        "var_dir/secret_key.",
    )
    secure_cookies: bool = Field(
        default=False, description="Mark session cookies Secure (set true behind HTTPS)."
    )
    language: str = Field(default="id", description="Default UI language: 'id' or 'en'.")
    session_hours: float = Field(
        default=12.0, gt=0, description="Hours a staff sign-in lasts (one command-center shift)."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins in a row before the account is locked."
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="Minutes an account stays locked after too many failures."
    )
    public_stream_max_viewers: int = Field(
        default=50, ge=1, description="Simultaneous viewers of one public live camera (then 503)."
    )
    public_stream_max_total: int = Field(
        default=100,
        ge=1,
        description="Simultaneous public live streams in all (each holds a web server thread).",
    )
    public_stream_fps: float = Field(
        default=4.0, gt=0, le=25, description="Frames per second of the public live streams."
    )
    public_stream_width: int = Field(
        default=640,
        ge=160,
        description="Width of public live pictures, in pixels. The privacy blur's CPU grows with "
        "the picture's area: per frame of a busy 768x576 scene ~45 ms at 768 px wide, ~36 ms at "
        "640, ~25 ms at 480 (one core), so 14 cameras at 2 frames/s need ~1 core at 640.",
    )
    public_stream_full_search_s: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Public live streams: the strict full face/plate search runs on a camera's first "
            "frame and again every this many seconds; in between only moving areas are searched "
            "and everything found stays blurred (0 = full search on every frame: strict, ~1 s "
            "CPU per 768x576 frame)."
        ),
    )
    public_stream_blur_threads: int = Field(
        default=0,
        ge=0,
        description="Threads that blur and encode the public live streams and snapshots, i.e. "
        "the CPU cores public viewing may use at most (each holds ~60 MB of detector buffers). "
        "0: one per core.",
    )
    public_stream_max_seconds: int = Field(
        default=600, ge=10, description="A public live stream ends after this long (reconnect)."
    )
    kiosk_rotate_seconds: int = Field(
        default=30, ge=5, description="Seconds each page stays on the wall screen in kiosk mode."
    )
    kiosk_alert_sound: bool = Field(
        default=False,
        description="The wall screen beeps on a new siaga alert (besides flashing). The wall's "
        "browser must allow sound without a click (Chromium: --autoplay-policy="
        "no-user-gesture-required); ?sound=1 / ?sound=0 on the kiosk URL overrides it.",
    )
    kiosk_alert_seconds: int = Field(
        default=60,
        ge=5,
        description="How long the wall screen shows a new siaga alert and its camera's live "
        "picture before the rotation goes on.",
    )
    wall_stream_fps: float = Field(
        default=4.0,
        gt=0,
        le=25,
        description="Video wall (/dinding): frames per second the frame hub reads and encodes a "
        "non-public camera at (one decode and encode per camera however many tiles show it). "
        "Tiles get at most this; small tiles less (see wall_tile_fps).",
    )
    wall_tile_fps: float = Field(
        default=2.0,
        gt=0,
        le=25,
        description="Video wall: frames per second per tile on the 3x3 and 4x4 layouts (the 1 "
        "and 2x2 layouts get wall_stream_fps).",
    )
    wall_stream_width: int = Field(
        default=640,
        ge=160,
        le=1920,
        description="Video wall: width in pixels of the pictures of non-public cameras (public "
        "cameras come blurred from the public hub at public_stream_width).",
    )
    wall_max_tiles: int = Field(
        default=256,
        ge=1,
        description="Video wall: camera tiles streaming at once in all (every wall counts its "
        "tiles); a tile beyond it shows 'busy' and retries.",
    )
    wall_max_walls: int = Field(
        default=16,
        ge=1,
        description="Video wall: walls streaming at once (each holds one web server thread, "
        "all its tiles ride on one connection); the next gets 503 + Retry-After.",
    )
    wall_stream_max_seconds: int = Field(
        default=900,
        ge=10,
        description="A wall's live connection ends after this long (the page reconnects at once).",
    )
    wall_rotate_seconds: int = Field(
        default=20, ge=5, description="Video wall: seconds each page of a group stays on screen."
    )
    wall_takeover_minutes: int = Field(
        default=10,
        ge=1,
        description="Video wall: a camera whose alert opened less than this many minutes ago "
        "(and is still open) takes a tile of its own, highlighted, on every page.",
    )
    refresh_seconds: int = Field(
        default=10, ge=2, description="How often live pages refresh their data."
    )

    # --- city ----------------------------------------------------------------------------
    city_name: str = Field(default="Kota Palembang", description="City shown in the header.")
    command_center_name: str = Field(
        default="Lawang Jabo Command Center", description="Name of the command center."
    )
    timezone: str = Field(default="Asia/Jakarta", description="Display time zone (WIB).")
    map_center_lat: float = Field(default=-2.976, description="Map centre latitude.")
    map_center_lon: float = Field(default=104.745, description="Map centre longitude.")
    city_bbox: str = Field(
        default="",
        description="The city's bounding area 'min_lon,min_lat,max_lon,max_lat' (WGS84), e.g. "
        "'104.60,-3.10,104.90,-2.85' for Palembang. Set: incidents fed by file or API must lie "
        "inside it; empty: only the coordinate ranges are checked.",
    )
    map_zoom: int = Field(default=13, description="Initial map zoom.")
    map_tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tile URL template; point it at a city tile server on an intranet. "
        "Empty disables tiles (the map still shows kecamatan boundaries from data/).",
    )
    map_tile_attribution: str = Field(
        default="&copy; OpenStreetMap contributors", description="Attribution for map tiles."
    )
    holidays_file: Path = Field(
        default=DATA_DIR / "holidays_id.csv",
        description="CSV of public holidays (date,name) skipped when counting working days.",
    )

    # --- ingestion -----------------------------------------------------------------------
    ingest_enabled: bool = Field(
        default=True, description="Run local ingestion workers inside `pantau run`."
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="Local ingestion worker processes (default: one per core).",
    )
    simulate_cameras: int = Field(
        default=12,
        ge=0,
        description="Simulated cameras `pantau run` serves on loopback for the demo (0: none).",
    )
    simulator_port: int = Field(default=8554, description="Port of the camera simulator.")
    default_sample_interval_s: int = Field(
        default=60, ge=1, description="Default seconds between samples of one camera."
    )
    connect_timeout_s: float = Field(default=5.0, description="Camera connect timeout.")
    read_timeout_s: float = Field(default=10.0, description="Camera read timeout.")
    camera_media_dir: str = Field(
        default="",
        description="Folder that protocol 'file' cameras (looping videos, demo clips) must be "
        "in; any other path is refused at import and at fetch. Empty: var_dir/media.",
    )
    camera_networks: str = Field(
        default="",
        description="Comma-separated CIDR networks camera hosts must resolve into, e.g. "
        "'10.20.0.0/16,192.168.10.0/24'. Empty: any address except link-local/metadata "
        "(169.254.0.0/16, fe80::/10...), so loopback and private networks are allowed.",
    )
    camera_redirect_hosts: str = Field(
        default="",
        description="Comma-separated hosts ('host' or 'host:port') that camera HTTP redirects "
        "and HLS segments may point to besides the camera's own host and port (e.g. a CDN "
        "serving an HLS camera's segments). Empty: the camera's own host only.",
    )
    detector: str = Field(
        default="auto",
        description="People/vehicle detector: auto, mediapipe, hog, blob. 'auto' uses MediaPipe "
        "when its model file exists, OpenCV otherwise.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Folder of model files: `pantau models install` puts them here and the "
        "detectors look for them here. Empty: var_dir/models.",
    )
    mediapipe_model_path: Path | None = Field(
        default=None,
        description="MediaPipe Tasks object detector model (EfficientDet-Lite COCO). Empty: "
        "models_dir/efficientdet_lite0.tflite (`pantau models install efficientdet`).",
    )
    face_model_path: Path | None = Field(
        default=None,
        description="Face detector of the privacy blur: a CenterFace .onnx (OpenCV DNN) or a "
        "MediaPipe face .tflite. Empty: models_dir/centerface.onnx (`pantau models install "
        "centerface`). While the file is missing, OpenCV's Haar cascades find faces (fallback: "
        "no face under ~40 px, see analytics/README.md); the log says which one is used.",
    )
    snapshot_max_width: int = Field(
        default=960, description="Width of stored annotated snapshots, in pixels."
    )
    frame_max_width: int = Field(
        default=800,
        ge=160,
        description="Frames are downscaled to at most this width right after decoding "
        "(analytics and snapshots use this size; big JPEGs are decoded at 1/2-1/8 scale).",
    )
    persistent_reader_max_interval_s: int = Field(
        default=20,
        ge=0,
        description="Streaming cameras (RTSP, HLS, MJPEG) sampled at least this often keep a "
        "persistent reader thread; slower ones are opened once per sample.",
    )
    reconnect_max_s: float = Field(
        default=300.0, ge=1, description="Cap of the reconnect backoff for a failing camera."
    )
    offline_after_failures: int = Field(
        default=3, ge=1, description="Consecutive failed samples before a camera is offline."
    )
    fetch_threads: int = Field(
        default=16, ge=1, description="Concurrent camera fetches per ingestion worker process."
    )
    dispatch_max_inflight: int = Field(
        default=0,
        ge=0,
        description="Samples the local scheduler hands one worker process at most at once (0: "
        "16 x fetch_threads, the worker's thread capacity). The rest wait in the scheduler, late "
        "but never failed as stalls while they queue behind a busy CPU.",
    )
    static_snapshot_every_s: int = Field(
        default=300,
        ge=0,
        description="When nothing moved since the last sample, re-encode the camera's annotated "
        "snapshot only this often (0: every sample). Saves ~10 ms per static sample.",
    )
    flood_alert_coverage: float = Field(
        default=0.25,
        description="Water coverage of a road ROI from which a sample keeps its annotated frame "
        "in case a flood alert opens on it (evidence). When alerts open is set by the rules "
        "(alert_rules, /admin/aturan); keep this at or below the lowest flood level.",
    )
    crowd_alert_min_people: int = Field(
        default=15,
        description="People in view from which a sample keeps its annotated frame in case a "
        "crowd alert opens on it (evidence); keep it at or below the crowd rules' floor.",
    )
    analysis_state_budget_mb: float = Field(
        default=320.0,
        gt=0,
        description="Memory each ingestion process may spend on cached per-camera analysis "
        "states (background estimates, ~25-50 KB a camera, at most 64 KiB). States beyond it "
        "are evicted (least recently used) to the database (local pool) or Redis (Celery) and "
        "reloaded when their camera is next sampled. 320 MB holds ~10,000 typical states.",
    )
    analysis_state_flush_s: float = Field(
        default=900.0,
        ge=1,
        description="Local pool: write changed analysis states to the database at least this "
        "often (also on eviction and on shutdown), so a restart resumes warm.",
    )
    analysis_state_redis_url: str = Field(
        default="",
        description="Celery: Redis holding the per-camera analysis states shared by all workers "
        "(empty: the Celery broker's Redis).",
    )
    analysis_state_ttl_s: int = Field(
        default=7 * 86400,
        ge=60,
        description="Celery: a camera's analysis state in Redis expires after this long unused.",
    )
    cold_start_frames: int = Field(
        default=2,
        ge=0,
        le=10,
        description="A camera without analysis history (first sample after a start, an "
        "eviction, a move) is warmed with this many extra frames before it is counted: read "
        "from the open stream, or fetched cold_start_interval_s apart from a snapshot URL. "
        "If it is still cold its counts are stored as unknown (NULL), never as 0.",
    )
    cold_start_interval_s: float = Field(
        default=1.0, ge=0, le=5, description="Seconds between the warm-up frames of a cold camera."
    )
    persistent_readers_max: int = Field(
        default=64,
        ge=0,
        description="Open persistent stream readers per ingestion worker process at most (each "
        "holds a connection, a thread and a decoder); the least recently used is closed.",
    )

    # --- scale-out -----------------------------------------------------------------------
    celery_admission: bool = Field(
        default=True,
        description="Celery scheduler: enqueue only what the workers can finish within "
        "celery_queue_wait_s (measured); a slot that finds no room is skipped and counted "
        "(expired/overload) instead of waiting until its frame is too old to analyse.",
    )
    celery_queue_wait_s: float = Field(
        default=20.0,
        gt=0,
        description="Celery scheduler: longest a task should wait in the queues; the queues hold "
        "at most the workers' measured rate times this.",
    )
    celery_queue_floor: int = Field(
        default=200,
        ge=1,
        description="Celery scheduler: tasks the queues may always hold, whatever the measured rate "
        "(the start, before any rate is known).",
    )
    celery_broker_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Celery broker for scaled-out ingestion."
    )
    celery_result_backend: str = Field(
        default="redis://127.0.0.1:6379/1",
        description="Celery result backend (the ingestion tasks store no results; only for "
        "tools that ask a task for its answer).",
    )
    celery_namespace: str = Field(
        default="",
        description="Prefix of every Redis key the Celery path uses (queues, unacknowledged "
        "tasks, shared camera health, locks), so several installations can share one Redis.",
    )
    celery_fetch_concurrency: int = Field(
        default=48,
        ge=1,
        description="Threads of a Celery fetch worker (queue pantau.fetch): camera fetches "
        "waiting on the network at once. Waiting costs no CPU; a hanging camera holds one.",
    )
    celery_analyse_concurrency: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="Processes of a Celery analysis worker (queue pantau.analyse): one per core.",
    )
    celery_analyse_pool: Literal["solo", "prefork"] = Field(
        default="solo",
        description="How `pantau worker` runs the analysis role: solo = "
        "celery_analyse_concurrency separate worker processes, each consuming the queue "
        "directly and running one task at a time (no prefork parent between broker and "
        "analysis; time limits enforced in the process); prefork = one Celery worker with that "
        "many child processes.",
    )
    celery_analyse_prefetch: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Celery prefetch multiplier of an analysis worker process: tasks it may "
        "hold unacknowledged per process (the one running included). Tasks held by a worker "
        "that dies are redelivered after celery_visibility_timeout_s.",
    )
    celery_fetch_deadline_s: float = Field(
        default=20.0,
        gt=0,
        description="Hard deadline of one camera fetch (connect, headers and the whole frame), "
        "plus the burst duration for burst cameras; a camera past it is a timeout failure.",
    )
    celery_analyse_time_limit_s: float = Field(
        default=60.0,
        gt=0,
        description="Soft time limit of one analysis task (the hard limit kills the process "
        "15 s later); also how long a camera's analysis lock lives.",
    )
    celery_visibility_timeout_s: float = Field(
        default=120.0,
        ge=5,
        description="Seconds after which Redis hands a task that a worker took but never "
        "acknowledged (the worker died) to another worker. About twice the usual sample "
        "interval: a killed worker's samples are redone within ~2 intervals. Must exceed the "
        "longest fetch or analysis plus its time in a worker's prefetch buffer, or a slow task "
        "is started twice (harmless: writes are idempotent, but wasted work).",
    )
    mqtt_url: str = Field(
        default="mqtt://127.0.0.1:1883", description="MQTT broker for IoT sensors (water level...)."
    )
    mqtt_topic: str = Field(
        default="pantau/sensors/#", description="MQTT topic filter for sensor readings."
    )
    mqtt_client_id: str = Field(
        default="",
        description="MQTT client id of the sensor subscriber; its persistent session (the broker "
        "keeps QoS 1 readings while the subscriber is down) is tied to it. Empty: "
        "pantau-sensors-<hostname>-<8 hex digits of a SHA-256 of the resolved var_dir>, stable "
        "across restarts of one installation and different for two installations on one host "
        "(two subscribers with one id take over each other's session). One subscriber per id.",
    )
    writer_memory_backlog: int = Field(
        default=20_000,
        ge=100,
        description="Samples the ingestion writer keeps in memory while the database is slow or "
        "down (about 1.8 KB each); beyond this they wait in var_dir/ingest/writer-backlog.jsonl "
        "and are written in order once the database answers. A stop during an outage leaves "
        "the rest in that file for the next start.",
    )
    writer_backlog_max_mb: float = Field(
        default=2048.0,
        gt=0,
        description="Size cap (MB) of var_dir/ingest/writer-backlog.jsonl (about 0.85 KB a "
        "sample: 2 GB holds ~2.5 million, ~3.9 hours of 10,693 cameras at one sample a minute). "
        "Past it samples are dropped and counted.",
    )
    writer_spill: bool = Field(
        default=True,
        description="Spill the writer's backlog to var_dir/ingest/writer-backlog.jsonl past "
        "writer_memory_backlog (off: everything waits in memory).",
    )
    sensor_spool_max_mb: float = Field(
        default=64.0,
        gt=0,
        description="Size cap (MB) of the local spool var_dir/sensors/<client id>.spool that keeps "
        "MQTT sensor readings while the database is unreachable (about 100 bytes a reading).",
    )
    sensor_api_keys: str = Field(
        default="",
        description="Comma-separated API keys sensor gateways send to POST "
        "/api/sensors/readings (header 'Authorization: Bearer KEY' or 'X-API-Key: KEY'); "
        "empty: the HTTP sensor intake answers 503 and stores nothing.",
    )
    sensor_rate_limit: int = Field(
        default=120,
        ge=0,
        description="Requests one sensor API key may make per minute to POST "
        "/api/sensors/readings (each up to 1000 readings); 0 disables the limit.",
    )

    api_key_rate_limit: int = Field(
        default=120,
        ge=0,
        description="Requests one agency API key (pantau keys create) may make per minute to "
        "the /api/v1 machine APIs (incidents, indicators); 0 disables the limit.",
    )

    # --- observability -------------------------------------------------------------------
    metrics_token: str = Field(
        default="",
        description="Bearer token a remote Prometheus sends to GET /metrics "
        "('Authorization: Bearer TOKEN'). Empty: /metrics answers only requests from loopback; "
        "anything else gets 404.",
    )
    metrics_loopback: bool = Field(
        default=True,
        description="Let requests from 127.0.0.1/::1 read /metrics without the token (never "
        "requests a reverse proxy forwarded: X-Forwarded-For, Forwarded, X-Real-IP). Set false "
        "when a proxy on this box forwards without those headers.",
    )

    # --- complaints ----------------------------------------------------------------------
    open311_api_keys: str = Field(
        default="", description="Comma-separated API keys allowed to POST Open311 requests."
    )
    sms_webhook_token: str = Field(
        default="", description="Shared token the SMS gateway sends (empty: webhook disabled)."
    )
    upload_max_bytes: int = Field(
        default=5 * 1024 * 1024, description="Largest complaint photo accepted, in bytes."
    )
    upload_max_pixels: int = Field(
        default=24_000_000,
        ge=1,
        description="Largest complaint photo accepted, in pixels (width x height), read from "
        "the image header before anything is decoded (24 MP: 6000x4000 phone photos pass).",
    )
    json_max_depth: int = Field(
        default=100,
        ge=4,
        description="Deepest nesting of arrays/objects a JSON request body may have (every "
        "JSON route and Dash callbacks; checked before the body is parsed): deeper -> 400.",
    )
    json_max_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest JSON request body on the APIs (/api/..., /open311), in bytes: "
        "larger -> 413. Dash callbacks may carry a photo and are capped by upload_max_bytes.",
    )
    complaint_submit_limit: int = Field(
        default=10,
        ge=0,
        description="Reports one IP may submit per complaint_submit_window_s on public "
        "endpoints (web form, Open311 POST); 0 disables the limit.",
    )
    complaint_submit_window_s: int = Field(
        default=600, ge=1, description="Window of the public report rate limit, in seconds."
    )
    complaint_lookup_limit: int = Field(
        default=60,
        ge=0,
        description="Public reads (status lookups, Open311 GET) one IP may make per minute; "
        "0 disables the limit.",
    )
    complaint_duplicate_radius_m: float = Field(
        default=150.0, description="Reports of one category closer than this are duplicate hints."
    )
    complaint_duplicate_days: int = Field(
        default=14, ge=1, description="How far back (days) duplicate hints look."
    )
    complaint_camera_radius_m: float = Field(
        default=300.0,
        ge=0,
        le=5000,
        description="A report arriving with a location gets the latest snapshots of the cameras "
        "within this distance (metres) attached, for staff only (0: none).",
    )
    complaint_camera_max: int = Field(
        default=4, ge=0, le=20, description="At most this many nearest cameras' snapshots."
    )
    alert_nearby_radius_m: float = Field(
        default=500.0,
        gt=0,
        le=10000,
        description="An alert's detail page lists reports and cameras within this distance.",
    )

    # --- notifications (store.outbox, ingestion.notify; README "Notifikasi") -------------------
    public_base_url: str = Field(
        default="",
        description="Public base URL of this Pantau (e.g. https://pantau.palembangkota.go.id), "
        "used for links in notifications. Empty: http://<host>:<port>.",
    )
    briefing_enabled: bool = Field(
        default=True,
        description="Send the daily briefing (/laporan-harian, yesterday's WIB day) through the "
        "notification outbox (event 'briefing.daily') once a day at briefing_time.",
    )
    briefing_time: str = Field(
        default="07:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time (HH:MM, the display time zone) the daily briefing is sent at.",
    )
    notify_alert_path: str = Field(
        default="/peringatan/{id}",
        description="Path of an alert's page under public_base_url; {id} is the alert id.",
    )
    notify_enabled: bool = Field(
        default=True,
        description="Run the notification dispatcher as a thread of `pantau run` (turn off when "
        "`pantau notify` processes deliver instead).",
    )
    notify_webhooks: str = Field(
        default="",
        description="Comma-separated webhook URLs seeded as channels at start: JSON POST signed "
        "with X-Pantau-Signature: sha256=<HMAC-SHA256 of the body> and X-Pantau-Delivery.",
    )
    notify_webhook_secret: str = Field(
        default="",
        description="HMAC-SHA256 key of the webhook signatures (channels without their own).",
    )
    notify_mqtt_topic: str = Field(
        default="",
        description="MQTT topic seeded as a channel at start (JSON, QoS 1). Empty: none.",
    )
    notify_mqtt_url: str = Field(
        default="",
        description="MQTT broker of the notification channels. Empty: mqtt_url.",
    )
    notify_email_to: str = Field(
        default="",
        description="Comma-separated e-mail addresses seeded as an e-mail channel at start.",
    )
    notify_email_from: str = Field(
        default="pantau@localhost", description="Sender address of notification e-mails."
    )
    notify_smtp_host: str = Field(default="", description="SMTP server. Empty: no e-mail.")
    notify_smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    notify_smtp_user: str = Field(default="", description="SMTP user name (empty: no login).")
    notify_smtp_password: str = Field(default="", description="SMTP password.")
    notify_smtp_security: str = Field(
        default="none",
        description="SMTP transport security: none, starttls or ssl (implicit TLS, port 465).",
    )
    notify_http_url_template: str = Field(
        default="",
        description="URL template of an HTTP channel seeded at start (Telegram bot, WhatsApp "
        "gateway), e.g. https://api.telegram.org/bot<token>/sendMessage. Fields like $title "
        "are URL-encoded. Empty: none.",
    )
    notify_http_body_template: str = Field(
        default="",
        description='Body template of that HTTP channel, e.g. {"chat_id": "-100123", "text": '
        '"$text"}; fields are JSON-escaped for a JSON content type, form-encoded for a form. '
        "Only $field substitution of a fixed list of fields, never code.",
    )
    notify_http_content_type: str = Field(
        default="application/json",
        description="Content type of that HTTP channel's body (application/json or "
        "application/x-www-form-urlencoded).",
    )
    notify_min_severity: str = Field(
        default="warning",
        description="Lowest alert severity the seeded channels get: info, warning or critical.",
    )
    notify_quiet_hours: str = Field(
        default="",
        description="Quiet hours of the seeded channels in local time, e.g. '22:00-06:00': "
        "messages below critical wait until they end; critical (siaga) always goes.",
    )
    notify_allowed_targets: str = Field(
        default="",
        description="Comma-separated hosts and CIDR networks webhook/HTTP channels may call "
        "(e.g. 'api.telegram.org,10.20.0.0/16'), besides the hosts of notify_webhooks and "
        "notify_http_url_template. Others are refused. Link-local/metadata addresses "
        "(169.254.0.0/16...) only when a network listed here contains them.",
    )
    notify_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts before a message goes to dead letter."
    )
    notify_retry_base_s: float = Field(
        default=5.0,
        gt=0,
        description="First retry delay; doubles each attempt (with jitter) up to the cap.",
    )
    notify_retry_cap_s: float = Field(
        default=900.0, gt=0, description="Longest delay between two attempts (seconds)."
    )
    notify_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one delivery attempt (connect + answer)."
    )
    notify_lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A dispatcher's lease on a message it is sending; after it expires (the "
        "dispatcher died) another dispatcher sends it again with the same delivery id. Must "
        "exceed notify_timeout_s.",
    )
    notify_poll_s: float = Field(
        default=2.0, gt=0, description="How often an idle dispatcher looks for due messages."
    )
    notify_retention_days: int = Field(
        default=30,
        ge=0,
        description="Delivered notifications are kept this many days (dead ones until retried "
        "or the channel is deleted); the dispatcher prunes once an hour. 0 keeps them forever.",
    )

    @field_validator("models_dir", "mediapipe_model_path", "face_model_path", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _model_paths(self) -> Settings:
        """Fill the empty model settings from models_dir (itself from var_dir)."""
        if self.models_dir is None:
            self.models_dir = self.var_dir / "models"
        if self.mediapipe_model_path is None:
            self.mediapipe_model_path = self.models_dir / "efficientdet_lite0.tflite"
        if self.face_model_path is None:
            self.face_model_path = self.models_dir / "centerface.onnx"
        return self

    @field_validator("camera_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        from ingestion.url_policy import parse_networks

        parse_networks(value)  # ValueError naming the bad entry
        return value

    @field_validator("notify_allowed_targets")
    @classmethod
    def _notify_targets(cls, value: str) -> str:
        from ingestion.notify.targets import parse_allowed

        parse_allowed(value)  # ValueError naming the bad entry
        return value

    @field_validator("notify_min_severity")
    @classmethod
    def _notify_severity(cls, value: str) -> str:
        if value not in {"info", "warning", "critical"}:
            raise ValueError("notify_min_severity must be info, warning or critical")
        return value

    @field_validator("notify_smtp_security")
    @classmethod
    def _smtp_security(cls, value: str) -> str:
        if value not in {"none", "starttls", "ssl"}:
            raise ValueError("notify_smtp_security must be none, starttls or ssl")
        return value

    @field_validator("notify_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from store.notify_channels import parse_quiet_hours

        parse_quiet_hours(value)  # ValueError saying what is wrong
        return value

    @field_validator("city_bbox")
    @classmethod
    def _bbox(cls, value: str) -> str:
        parse_bbox(value)  # ValueError saying what is wrong
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in {"id", "en"}:
            raise ValueError("language must be 'id' or 'en'")
        return value

    # --- recorded evidence (store.evidence, ingestion.evidence_recorder; README "Bukti") -----
    evidence_retention_days: int = Field(
        default=90,
        ge=0,
        description="Recorded evidence (clips and frames) older than this many days has its "
        "files pruned, oldest first; items held for a case are never pruned. The record and its "
        "chain of custody stay. 0 keeps recordings until the disk quota needs the space.",
    )
    evidence_quota_mb: int = Field(
        default=20_000,
        ge=0,
        description="Disk quota for recorded evidence (MB, 1 MB = 1,000,000 bytes). Above it the "
        "oldest recordings not held for a case are pruned until it fits. 0: no quota.",
    )
    evidence_max_seconds: int = Field(
        default=300, ge=1, le=3600, description="Longest recording one request may ask for (s)."
    )
    evidence_default_seconds: int = Field(
        default=30, ge=1, le=3600, description="Length of a recording started by the Rekam button."
    )
    evidence_max_mb: int = Field(
        default=200,
        ge=1,
        description="Largest recording (MB): the recorder stops there and marks the item partial.",
    )
    evidence_max_concurrent: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Recordings running at once in one recorder service; more wait in the queue.",
    )
    evidence_frame_fps: float = Field(
        default=5.0,
        gt=0,
        le=15,
        description="MJPEG/snapshot cameras: frames a second kept for a recording (at most).",
    )
    evidence_preroll_tag: str = Field(
        default="prarekam",
        description="Cameras with this tag keep a rolling pre-roll buffer in the recorder "
        "service, so a recording starts before the alert or button press.",
    )
    evidence_preroll_seconds: int = Field(
        default=10, ge=0, le=60, description="Length of the pre-roll buffer (s). 0: no pre-roll."
    )
    evidence_preroll_max_cameras: int = Field(
        default=8,
        ge=0,
        le=200,
        description="At most this many tagged cameras keep a pre-roll buffer (memory and disk).",
    )
    evidence_recorder_enabled: bool = Field(
        default=True,
        description="`pantau run` runs the recorder service (queued recordings from the Rekam "
        "buttons and alert rules, pre-roll buffers, pruning). Off: run `pantau evidence serve` "
        "on another machine, or nothing is recorded.",
    )
    evidence_poll_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often the recorder service looks for queued work.",
    )

    # --- derived -------------------------------------------------------------------------
    @property
    def city_bounds(self) -> tuple[float, float, float, float] | None:
        """``city_bbox`` as (min_lon, min_lat, max_lon, max_lat), or None when not set."""
        return parse_bbox(self.city_bbox)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'pantau.db').resolve()}"

    @property
    def snapshot_dir(self) -> Path:
        return self.var_dir / "snapshots"

    @property
    def evidence_dir(self) -> Path:
        return self.var_dir / "evidence"

    @property
    def upload_dir(self) -> Path:
        return self.var_dir / "uploads"

    def ensure_dirs(self) -> None:
        """Create the runtime folders."""
        for path in (self.var_dir, self.snapshot_dir, self.evidence_dir, self.upload_dir):
            path.mkdir(parents=True, exist_ok=True)

    def resolved_camera_media_dir(self) -> Path:
        """Where protocol 'file' cameras must be: camera_media_dir or var_dir/media."""
        return Path(self.camera_media_dir) if self.camera_media_dir else self.var_dir / "media"

    def resolved_mqtt_client_id(self) -> str:
        """``mqtt_client_id``, or the per-installation default: the host name plus a short hash
        of the resolved var_dir (two instances on one host and broker get different ids)."""
        if self.mqtt_client_id:
            return self.mqtt_client_id
        return default_mqtt_client_id(self.var_dir)

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in var_dir."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        key_file = self.var_dir / "secret_key"
        if not key_file.exists():
            key_file.write_text(os.urandom(32).hex())
            key_file.chmod(0o600)
        return key_file.read_text().strip()


def default_mqtt_client_id(var_dir: Path, hostname: str | None = None) -> str:
    """``pantau-sensors-<hostname>-<hash>``: the hash is the first 8 hex digits of SHA-256 of
    the resolved var_dir path, so it survives restarts but differs between installations."""
    host = "".join(
        c if c.isalnum() or c in "-_." else "_" for c in (hostname or socket.gethostname())
    )[:40]
    digest = hashlib.sha256(str(Path(var_dir).expanduser().resolve()).encode()).hexdigest()[:8]
    return f"pantau-sensors-{host}-{digest}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings read from the environment once."""
    return Settings()
