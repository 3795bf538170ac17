"""IoT sensor readings (water level, rainfall, air quality) over MQTT or HTTP.

Payload (one reading per message, or a JSON list of them)::

    {"sensor": "PLG-WL-MUSI-01", "ts": "2026-11-23T05:00:00+07:00", "value": 182.5}

``ts`` is ISO 8601 (a timezone is required; ``Z`` allowed) and optional (arrival time then).
Invalid payloads are logged and counted, never fatal. Readings are written idempotently
(``store.writes.write_sensor_readings``: unique on sensor + ts, so an MQTT QoS 1 redelivery is a
no-op) and ``Sensor.last_value``/``last_seen_at`` follow the newest reading.

``ingest_readings(session, payload)`` is the plain function behind both the MQTT subscriber and
an HTTP endpoint the dashboard can expose (POST the same JSON).
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

from sqlalchemy import select
from sqlalchemy.orm import Session

from pantau.settings import Settings
from store.db import Database
from store.models import Sensor
from store.writes import write_sensor_readings

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_FUTURE = timedelta(minutes=10)


class InvalidReading(ValueError):
    """A payload that cannot be stored; ``str(exc)`` says why."""


@dataclass
class IngestResult:
    accepted: int = 0
    written: int = 0
    rejected: list[str] = field(default_factory=list)


def parse_reading(item: Any, now: datetime | None = None) -> tuple[str, datetime, float]:
    """Validate one reading dict -> (sensor code, UTC ts, value). Raises InvalidReading."""
    if not isinstance(item, dict):
        raise InvalidReading(f"reading must be a JSON object, got {type(item).__name__}")
    code = item.get("sensor")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise InvalidReading("'sensor' must be a sensor code (text, at most 64 characters)")
    raw = item.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidReading(f"'value' must be a number, got {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidReading(f"'value' must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise InvalidReading(f"'value' must be finite, got {raw!r}")
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
            raise InvalidReading(f"'ts' is not ISO 8601: {ts_raw!r}") from None
        if ts.tzinfo is None:
            raise InvalidReading(f"'ts' needs a timezone (e.g. +07:00 or Z): {ts_raw!r}")
        ts = ts.astimezone(UTC)
        if ts > now + MAX_FUTURE:
            raise InvalidReading(f"'ts' is in the future: {ts_raw!r}")
    return code.strip(), ts, value


def ingest_readings(session: Session, payload: Any, now: datetime | None = None) -> IngestResult:
    """Store readings from a parsed JSON payload (an object or a list of objects).

    Unknown sensors and invalid items are rejected with reasons; valid ones are written. The
    caller's transaction commits them."""
    items = payload if isinstance(payload, list) else [payload]
    out = IngestResult()
    parsed: list[tuple[str, datetime, float]] = []
    for i, item in enumerate(items):
        try:
            parsed.append(parse_reading(item, now))
        except InvalidReading as exc:
            out.rejected.append(f"item {i}: {exc}")
    if not parsed:
        return out
    codes = {p[0] for p in parsed}
    sensors = {s.code: s for s in session.scalars(select(Sensor).where(Sensor.code.in_(codes)))}
    rows = []
    for code, ts, value in parsed:
        sensor = sensors.get(code)
        if sensor is None:
            out.rejected.append(f"unknown sensor {code!r}")
            continue
        rows.append({"sensor_id": sensor.id, "ts": ts, "value": value})
        last = sensor.last_seen_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if last is None or ts >= last:
            sensor.last_value, sensor.last_seen_at = value, ts
    out.accepted = len(rows)
    out.written = write_sensor_readings(session, rows) if rows else 0
    return out


def decode_payload(raw: bytes) -> Any:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise InvalidReading(f"payload too large ({len(raw)} bytes)")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidReading(f"payload is not JSON: {exc}") from None


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
        self.stats.duplicates += res.accepted - res.written
        if res.rejected:
            self.stats.invalid += len(res.rejected)
            logger.warning("sensor message: %s", "; ".join(res.rejected[:5]))

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
