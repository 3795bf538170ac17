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
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ingestion.alerts import evaluate_sensors
from ingestion.sensor_ranges import implausible
from ingestion.spool import Spool, SpoolFull
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

    Unknown sensors, invalid items and implausible values (``ingestion.sensor_ranges``: out of
    the sensor's range or changing too fast) are rejected with their index and reason; valid ones are
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
    by_sensor: dict[str, list[tuple[int, datetime, float]]] = {}
    for i, code, ts, value in parsed:
        by_sensor.setdefault(code, []).append((i, ts, value))
    implausible_items = {  # out of the sensor's plausible range or rate: never stored
        i: reason
        for code, items in by_sensor.items()
        if code in sensors
        for i, reason in implausible(sensors[code], items).items()
    }
    for i, code, ts, value in parsed:
        sensor = sensors.get(code)
        if sensor is None:
            out.rejected.append(Rejected(i, f"unknown sensor {code!r}", code))
            continue
        if i in implausible_items:
            out.rejected.append(Rejected(i, implausible_items[i], code))
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
    spooled: int = 0  # messages appended to the spool (every valid one)
    replayed: int = 0  # spooled messages written to the database
    dead_letters: int = 0  # messages the database refused for good (kept in *.rejected.jsonl)
    spool_full: int = 0  # times the spool was full and acknowledgements stopped
    last_error: str | None = None


_TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError)


def is_transient(exc: BaseException) -> bool:
    """A database that is down, locked, read-only or unreachable (worth retrying later), as
    opposed to a message it refuses for good (a constraint, a bug)."""
    if isinstance(exc, _TRANSIENT):
        return True
    return bool(isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)


@dataclass
class _Message:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    generation: int


def _safe_name(client_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in client_id)


def _adopt_legacy_spool(folder: Path, safe: str) -> None:
    """Before the default client id carried a hash of var_dir it was ``pantau-sensors-<host>``:
    a spool (and rejected-readings log) left under that name is taken over, so readings
    spooled before an upgrade are still written."""
    legacy = _safe_name(f"pantau-sensors-{socket.gethostname()}")
    for suffix in (".spool", ".rejected.jsonl"):
        old, new = folder / f"{legacy}{suffix}", folder / f"{safe}{suffix}"
        if old.exists() and not new.exists():
            try:
                old.rename(new)
                logger.info("sensor spool: took over %s as %s", old.name, new.name)
            except OSError:
                logger.warning("could not take over the old sensor spool %s", old, exc_info=True)


class SensorSubscriber:
    """MQTT subscriber (paho-mqtt 2.x) writing readings to the store; loses no reading to a
    database outage or a subscriber restart.

    Delivery, and why this way:

    * QoS 1 subscription in a **persistent session** (``clean_session=False``, fixed client id
      ``PANTAU_MQTT_CLIENT_ID``): while the subscriber is down the broker keeps the readings
      and delivers them when it is back (up to the broker's own limit, mosquitto's
      ``max_queued_messages``, 1000 a client by default).
    * ``manual_ack=True`` and a **local write-ahead spool** (``Spool``,
      var_dir/sensors/<client id>.spool, capped by ``PANTAU_SENSOR_SPOOL_MAX_MB``): every valid
      message is appended to the spool and fsynced, and only then acknowledged; a second
      thread writes the spool to the database in order and truncates it once all is written.
      A crash before the fsync and the broker delivers the message again.
    * Why not acknowledge after the database commit instead: while the database is down the
      broker sends at most ``max_inflight`` (20) unacknowledged messages and queues the rest up
      to its limit, dropping beyond it, so a long outage would still lose readings; and a
      locked SQLite (30 s busy timeout) or a hung PostgreSQL connection would hold every
      acknowledgement. With the spool the acknowledgements never wait for the database and
      outages are bounded by the spool size (about 100 bytes a reading: 64 MB hold ~600,000).
    * Order: the paho network thread only queues messages; one spool thread appends them in
      arrival order, fsyncs a batch once and acknowledges it in that order (MQTT 3.1.1/5
      section 4.6: PUBACKs in the order the PUBLISHes came). The writer replays in spool order,
      so the level alerts see readings in time order.
    * Spool full: an ERROR log line, and the spool thread stops acknowledging until the writer
      has made room; the broker then keeps what it can. Nothing acknowledged is ever lost.

    The writer retries an unreachable database with a backoff up to ``MAX_BACKOFF_S`` and logs
    the outage once when it starts and once when the database is back. Messages refused for
    good (not an outage) go to ``<client id>.rejected.jsonl`` with the error. A reading without
    ``ts`` gets its arrival time; a message redelivered after a crash before its fsync gets a
    new one and may be stored twice (gateways should send ``ts``). Changing
    ``PANTAU_MQTT_TOPIC`` keeps the old subscription in the broker's session until the session
    is cleared (connect once with a clean session, or change the client id).
    """

    MAX_BACKOFF_S = 30.0
    ACK_BATCH = 200  # messages appended per fsync at most

    def __init__(
        self,
        settings: Settings,
        database: Database,
        client_id: str | None = None,
        spool_max_bytes: int | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.settings = settings
        self.db = database
        self.stats = SensorStats()
        url = urlparse(settings.mqtt_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (8883 if url.scheme == "mqtts" else 1883)
        self.topic = settings.mqtt_topic
        self.client_id = client_id or settings.resolved_mqtt_client_id()
        safe = _safe_name(self.client_id)
        folder = Path(settings.var_dir) / "sensors"
        if not client_id and not settings.mqtt_client_id:
            _adopt_legacy_spool(folder, safe)
        self.spool = Spool(
            folder / f"{safe}.spool",
            spool_max_bytes or int(settings.sensor_spool_max_mb * 1024 * 1024),
        )
        self.dead_letter_path = folder / f"{safe}.rejected.jsonl"
        self.subscribed = threading.Event()
        self._queue: queue.Queue[_Message | None] = queue.Queue()
        self._generation = 0
        self._stop = threading.Event()
        self._appended = threading.Event()  # wakes the writer
        self._room = threading.Event()  # wakes a spool thread waiting on a full spool
        self._threads: list[threading.Thread] = []
        self._outage_since: float | None = None
        self._backoff = 0.0
        self._full = False
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            manual_ack=True,
        )
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.scheme == "mqtts":
            self._client.tls_set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *a, **k: self.subscribed.set()

    # -- paho network thread: no disk or database work here -------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self.stats.last_error = f"MQTT connect refused: {reason_code}"
            logger.error(self.stats.last_error)
            return
        if flags.session_present:
            # the broker resends every unacknowledged message of the session: copies still
            # queued here from the previous connection are dropped (not spooled, not acked)
            self._generation += 1
        client.subscribe(self.topic, qos=1)
        logger.info(
            "subscribed to %s on %s:%s as %s (session %s)",
            self.topic,
            self.host,
            self.port,
            self.client_id,
            "resumed" if flags.session_present else "new",
        )

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        self._queue.put(
            _Message(
                msg.mid, msg.qos, msg.topic, bytes(msg.payload), datetime.now(UTC), self._generation
            )
        )

    # -- spool thread: validate, append, fsync, acknowledge in order ----------------------------

    def _accept(self, m: _Message) -> bool:
        """Spool one message, or drop it as invalid. False: the spool is full."""
        try:
            decode_payload(m.payload)
        except InvalidReading as exc:
            self.stats.messages += 1
            self.stats.invalid += 1
            logger.warning("invalid sensor message on %s: %s", m.topic or "-", exc)
            return True
        try:
            self.spool.append(m.received_at, m.topic, m.payload)
        except SpoolFull as exc:
            if not self._full:
                self._full = True
                self.stats.spool_full += 1
                self.stats.last_error = str(exc)
                logger.error(
                    "%s: NOT acknowledging sensor messages until the database takes the "
                    "backlog; the broker keeps them up to its queue limit and drops beyond it",
                    exc,
                )
            return False
        if self._full:
            self._full = False
            logger.warning("sensor spool has room again: acknowledging messages")
        self.stats.messages += 1
        self.stats.spooled += 1
        return True

    def _spool_loop(self) -> None:
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.ACK_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stop.set()
                    break
                batch.append(nxt)
            done: list[_Message] = []
            for m in batch:
                if m.generation != self._generation:
                    continue  # the resumed session delivers it again
                while not self._accept(m):
                    self._flush(done)  # what is spooled so far is acknowledged first
                    done = []
                    self._room.clear()
                    self._appended.set()
                    if self._stop.is_set():
                        return  # not acknowledged: the broker delivers it again
                    self._room.wait(1.0)
                done.append(m)
            self._flush(done)

    def _flush(self, done: list[_Message]) -> None:
        if not done:
            return
        self.spool.sync()
        self._appended.set()
        for m in done:
            if m.qos > 0:
                self._client.ack(m.mid, m.qos)

    # -- writer thread: spool -> database, in order ---------------------------------------------

    def _writer_loop(self) -> None:
        while not self._stop.is_set():
            self._appended.wait(1.0)
            self._appended.clear()
            if self._stop.is_set() or not self.spool.pending:
                continue
            try:
                ok = self.drain()
            except Exception:
                logger.exception("writing the sensor spool failed")
                ok = False
            if not ok:
                self._stop.wait(self._backoff or 1.0)

    def _store(self, items: list[Any], received_at: datetime) -> None:
        with self.db.session() as s:
            res = ingest_readings(s, items, now=received_at)
        self.stats.written += res.written
        self.stats.duplicates += res.duplicates
        if res.rejected:
            self.stats.invalid += len(res.rejected)
            logger.warning("sensor message: %s", "; ".join(str(r) for r in res.rejected[:5]))

    def drain(self) -> bool:
        """Write the spooled messages to the database, oldest first. False when the database
        is unreachable (the writer retries after a backoff)."""
        while self.spool.pending:
            if self._stop.is_set():
                return False
            done = self.spool.offset
            batch = self.spool.read()
            if not batch:
                break  # only an entry being appended (or a torn fragment): next wake-up
            for end, entry, line in batch:
                if entry is None:
                    if line:
                        self._dead_letter("", line, datetime.now(UTC), ValueError("corrupt entry"))
                    done = end
                    continue
                raw = str(entry["payload"]).encode("utf-8")
                try:
                    received_at = datetime.fromisoformat(entry["at"])
                    self._store(decode_payload(raw), received_at)
                except Exception as exc:
                    if is_transient(exc):
                        self.spool.advance(done)
                        self._room.set()
                        self._database_down(exc)
                        return False
                    self._dead_letter(str(entry.get("topic", "")), raw, datetime.now(UTC), exc)
                else:
                    self.stats.replayed += 1
                done = end
            self.spool.advance(done)
            self._room.set()
        self._database_up()
        return True

    def handle(self, raw: bytes, received_at: datetime | None = None) -> bool:
        """Spool one message payload and write the spool out, in the caller's thread (tests,
        bridges). True when the spool is empty afterwards."""
        m = _Message(0, 0, "", raw, received_at or datetime.now(UTC), self._generation)
        if not self._accept(m):
            return False
        self.spool.sync()
        return self.drain()

    def _database_down(self, exc: BaseException) -> None:
        self.stats.db_errors += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self._backoff = min(self.MAX_BACKOFF_S, max(0.5, self._backoff * 2))
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            logger.error(
                "sensor readings cannot reach the database (%s); keeping them in %s until it "
                "is back",
                self.stats.last_error,
                self.spool.path,
            )
        else:
            logger.debug("database still unreachable: %s", self.stats.last_error)

    def _database_up(self) -> None:
        if self._outage_since is not None:
            logger.warning(
                "database reachable again after %.0f s; sensor spool written (%d messages in all)",
                time.monotonic() - self._outage_since,
                self.stats.replayed,
            )
        self._outage_since = None
        self._backoff = 0.0

    def _dead_letter(
        self, topic: str, raw: bytes, received_at: datetime, exc: BaseException
    ) -> None:
        self.stats.dead_letters += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        logger.error(
            "the database refused a sensor message for good (%s); kept in %s",
            self.stats.last_error,
            self.dead_letter_path,
        )
        record = {
            "at": received_at.isoformat(),
            "topic": topic,
            "payload": raw.decode("utf-8", "replace"),
            "error": self.stats.last_error,
        }
        with open(self.dead_letter_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def start(self) -> SensorSubscriber:
        self._threads = [
            threading.Thread(target=self._spool_loop, name="sensor-spool", daemon=True),
            threading.Thread(target=self._writer_loop, name="sensor-writer", daemon=True),
        ]
        for t in self._threads:
            t.start()
        if self.spool.pending:
            self._appended.set()
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Acknowledge what is spooled, finish the write in hand, then disconnect. Messages
        not yet spooled stay unacknowledged: the broker delivers them again at the next start;
        spooled ones not yet written are written at the next start."""
        self._stop.set()
        self._queue.put(None)
        self._appended.set()
        self._room.set()
        for t in self._threads:
            t.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self.spool.close()
