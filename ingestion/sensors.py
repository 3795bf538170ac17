"""IoT sensor readings (water level, rainfall, air quality) over MQTT or HTTP.

Payload (one reading per message, or a JSON list of them, at most ``MAX_ITEMS``)::

    {"sensor": "PLG-WL-MUSI-01", "ts": "2026-11-23T05:00:00+07:00", "value": 182.5}

``ts`` is ISO 8601 (a timezone is required; ``Z`` allowed) and optional (arrival time then); it
may not be more than ``MAX_FUTURE`` ahead of the server's clock nor before 2000 (a gateway whose
clock was never set). ``value`` is a finite number (a numeric string is accepted). Invalid
items are reported with their index and reason, never fatal. Readings are written idempotently
(``store.writes.write_sensor_readings``: unique on sensor + ts, so an MQTT QoS 1 redelivery or an
HTTP retry is a no-op) and ``Sensor.last_value``/``last_seen_at`` follow the newest reading.
Readings newer than the sensor's previous one go through the level rule
(``ingestion.alerts.evaluate_sensors``: waspada at ``warning_level``, siaga at ``danger_level``).

``ingest_readings(session, payload)`` is the one code path behind the MQTT subscriber and
``POST /api/sensors/readings`` (``dashboard/api/sensors.py``).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ingestion.alerts import evaluate_sensors
from pantau.settings import Settings
from store.db import Database
from store.models import Alert, Sensor
from store.writes import write_sensor_readings

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_ITEMS = 1000
MAX_FUTURE = timedelta(minutes=10)
MIN_TS = datetime(2000, 1, 1, tzinfo=UTC)


class InvalidReading(ValueError):
    """A payload that cannot be stored; ``str(exc)`` says why."""


class PayloadTooLarge(InvalidReading):
    """Over ``MAX_PAYLOAD_BYTES`` or ``MAX_ITEMS`` readings."""


@dataclass(frozen=True)
class Rejected:
    """An item of a payload that was not stored: its index in the payload and why."""

    index: int
    reason: str
    sensor: str | None = None

    def __str__(self) -> str:
        return f"item {self.index}: {self.reason}"


@dataclass(frozen=True)
class Accepted:
    """A stored (or already stored: same sensor and ts) item of a payload."""

    index: int
    sensor: str
    ts: datetime
    value: float


@dataclass
class IngestResult:
    accepted: int = 0  # items stored now or before (a retry's items count as accepted)
    written: int = 0  # rows new in the store
    rejected: list[Rejected] = field(default_factory=list)
    items: list[Accepted] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)  # opened, escalated or closed

    @property
    def duplicates(self) -> int:
        return self.accepted - self.written


def parse_reading(item: Any, now: datetime | None = None) -> tuple[str, datetime, float]:
    """Validate one reading dict -> (sensor code, UTC ts, value). Raises InvalidReading."""
    if not isinstance(item, dict):
        raise InvalidReading(f"reading must be a JSON object, got {type(item).__name__}")
    code = item.get("sensor")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise InvalidReading("'sensor' must be a sensor code (text, at most 64 characters)")
    raw = item.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidReading(f"'value' must be a number, got {raw!r}"[:200])
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise InvalidReading(f"'value' must be a number, got {raw!r}"[:200]) from None
    if not math.isfinite(value):
        raise InvalidReading(f"'value' must be finite, got {raw!r}"[:200])
    now = now or datetime.now(UTC)
    ts_raw = item.get("ts")
    if ts_raw is None:
        ts = now
    else:
        if not isinstance(ts_raw, str):
            raise InvalidReading("'ts' must be an ISO 8601 string")
        try:
            ts = datetime.fromisoformat(ts_raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidReading(f"'ts' is not ISO 8601: {ts_raw!r}"[:200]) from None
        if ts.tzinfo is None:
            raise InvalidReading(f"'ts' needs a timezone (e.g. +07:00 or Z): {ts_raw!r}"[:200])
        try:
            ts = ts.astimezone(UTC)
        except OverflowError:
            raise InvalidReading(f"'ts' is out of range: {ts_raw!r}"[:200]) from None
        if ts > now + MAX_FUTURE:
            raise InvalidReading(
                f"'ts' is in the future: {ts_raw!r} (server time {now:%Y-%m-%dT%H:%M:%SZ})"[:200]
            )
        if ts < MIN_TS:
            raise InvalidReading(f"'ts' is before 2000 (gateway clock not set?): {ts_raw!r}"[:200])
    return code.strip(), ts, value


def payload_items(payload: Any) -> list[Any]:
    """The readings of a decoded payload (an object or a non-empty list of at most
    ``MAX_ITEMS``). Raises InvalidReading for anything else."""
    if isinstance(payload, dict):
        return [payload]
    if not isinstance(payload, list):
        raise InvalidReading(
            f"payload must be a reading object or a list of them, got {type(payload).__name__}"
        )
    if not payload:
        raise InvalidReading("payload is an empty list")
    if len(payload) > MAX_ITEMS:
        raise PayloadTooLarge(f"too many readings ({len(payload)}; at most {MAX_ITEMS} a payload)")
    return payload


def ingest_readings(session: Session, payload: Any, now: datetime | None = None) -> IngestResult:
    """Store readings from a parsed JSON payload (an object or a list of objects) and apply the
    sensor level alerts.

    Unknown sensors and invalid items are rejected with their index and reason; valid ones are
    written (the same sensor and ts twice, in this payload or before: stored once). The caller's
    transaction commits them, so nothing is acknowledged before it is durable."""
    items = payload if isinstance(payload, list) else [payload]
    out = IngestResult()
    parsed: list[tuple[int, str, datetime, float]] = []
    for i, item in enumerate(items):
        try:
            parsed.append((i, *parse_reading(item, now)))
        except InvalidReading as exc:
            sensor = item.get("sensor") if isinstance(item, dict) else None
            out.rejected.append(
                Rejected(i, str(exc), sensor[:64] if isinstance(sensor, str) else None)
            )
    if not parsed:
        return out
    codes = {p[1] for p in parsed}
    # concurrent payloads for a sensor (MQTT subscriber, HTTP threads) take turns, so
    # last_value and the one-open-alert rule see each other's commits: PostgreSQL locks the
    # rows (in id order); SQLite reads outside a transaction until the first write, so take
    # the write lock first with a no-op update
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Sensor).where(Sensor.code.in_(codes)).values(last_value=Sensor.last_value),
            execution_options={"synchronize_session": False},
        )
    sensors = {
        s.code: s
        for s in session.scalars(
            select(Sensor).where(Sensor.code.in_(codes)).order_by(Sensor.id).with_for_update()
        )
    }
    rows: dict[tuple[int, datetime], dict[str, Any]] = {}
    for i, code, ts, value in parsed:
        sensor = sensors.get(code)
        if sensor is None:
            out.rejected.append(Rejected(i, f"unknown sensor {code!r}", code))
            continue
        rows.setdefault((sensor.id, ts), {"sensor_id": sensor.id, "ts": ts, "value": value})
        out.items.append(Accepted(i, code, ts, value))
    out.rejected.sort(key=lambda r: r.index)
    out.accepted = len(out.items)
    if not rows:
        return out
    out.written = write_sensor_readings(session, list(rows.values()))
    # readings newer than each sensor's previous one, in time order, feed the level rule
    fresh: dict[int, tuple[Sensor, list[tuple[datetime, float]]]] = {}
    by_id = {s.id: s for s in sensors.values()}
    for (sensor_id, ts), row in sorted(rows.items(), key=lambda kv: kv[0][1]):
        sensor = by_id[sensor_id]
        last = sensor.last_seen_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if last is None or ts > last:
            fresh.setdefault(sensor_id, (sensor, []))[1].append((ts, row["value"]))
    for sensor, news in fresh.values():
        sensor.last_seen_at, sensor.last_value = news[-1]
    out.alerts = evaluate_sensors(session, fresh)
    return out


def decode_payload(raw: bytes) -> list[Any]:
    """Raw message/body -> the list of reading items. Raises InvalidReading."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"payload too large ({len(raw)} bytes; at most {MAX_PAYLOAD_BYTES})")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a 5000-digit number
        raise InvalidReading(f"payload is not JSON: {exc}"[:300]) from None
    except RecursionError:
        raise InvalidReading("payload is not JSON: nested too deeply") from None
    return payload_items(payload)


@dataclass
class SensorStats:
    messages: int = 0
    written: int = 0
    duplicates: int = 0
    invalid: int = 0
    db_errors: int = 0
    last_error: str | None = None


class SensorSubscriber:
    """MQTT subscriber (paho-mqtt 2.x) writing readings to the store; reconnects by itself."""

    def __init__(
        self, settings: Settings, database: Database, client_id: str | None = None
    ) -> None:
        import paho.mqtt.client as mqtt

        self.settings = settings
        self.db = database
        self.stats = SensorStats()
        url = urlparse(settings.mqtt_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (8883 if url.scheme == "mqtts" else 1883)
        self.topic = settings.mqtt_topic
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"pantau-sensors-{int(time.time() * 1000) % 10**8}",
        )
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.scheme == "mqtts":
            self._client.tls_set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *a, **k: self.subscribed.set()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self.stats.last_error = f"MQTT connect refused: {reason_code}"
            logger.error(self.stats.last_error)
            return
        client.subscribe(self.topic, qos=1)
        logger.info("subscribed to %s on %s:%s", self.topic, self.host, self.port)

    def handle(self, raw: bytes) -> None:
        """Process one message payload (public for tests and HTTP bridges)."""
        self.stats.messages += 1
        try:
            payload = decode_payload(raw)
        except InvalidReading as exc:
            self.stats.invalid += 1
            logger.warning("invalid sensor message: %s", exc)
            return
        for attempt in range(5):
            try:
                with self.db.session() as s:
                    res = ingest_readings(s, payload)
                break
            except Exception as exc:
                self.stats.db_errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                logger.warning("writing sensor readings failed (attempt %d): %s", attempt + 1, exc)
                time.sleep(min(5.0, 0.2 * 2**attempt))
        else:
            return
        self.stats.written += res.written
        self.stats.duplicates += res.duplicates
        if res.rejected:
            self.stats.invalid += len(res.rejected)
            logger.warning("sensor message: %s", "; ".join(str(r) for r in res.rejected[:5]))

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        try:
            self.handle(msg.payload)
        except Exception:  # never let a message kill the network loop
            self.stats.invalid += 1
            logger.exception("sensor message on %s crashed the handler", msg.topic)

    def start(self) -> SensorSubscriber:
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
