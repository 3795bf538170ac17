"""MQTT sensor readings are not lost when the database goes away or the subscriber is killed.

Real Mosquitto (127.0.0.1:1883), real databases made unreachable: PostgreSQL behind a TCP
relay that is cut and restored (a database restart), SQLite held by another connection's
``BEGIN EXCLUSIVE``. After recovery every reading is stored exactly once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from ingest_helpers import forget_mqtt_session, readline_within, wait_for
from sqlalchemy import event, make_url, select

from ingestion.sensors import SensorSubscriber
from ingestion.spool import Spool, SpoolFull, SpoolInUse
from store.db import Database
from store.models import Sensor, SensorReading

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


class Relay:
    """A TCP relay to PostgreSQL that can be cut (listener closed, live connections reset) and
    restored on the same port, like a database server restarting."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def up(self) -> Relay:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()
        return self

    def down(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the blocked accept() (Linux)
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self._conns.clear()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _add_sensor(db: Database, code: str = "WL-DLV-1") -> None:
    with db.session() as s:
        s.add(Sensor(code=code, name="Sungai Musi", kind="water_level", unit="cm"))


def _stored(db: Database) -> list[tuple[datetime, float]]:
    with db.session() as s:
        rows = s.execute(select(SensorReading.ts, SensorReading.value)).all()
    return sorted((ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts, v) for ts, v in rows)


def _reading(i: int, code: str = "WL-DLV-1") -> dict:
    return {"sensor": code, "ts": (T0 + timedelta(minutes=i)).isoformat(), "value": 100.0 + i}


def _expected(indices) -> list[tuple[datetime, float]]:  # noqa: ANN001
    return [(T0 + timedelta(minutes=i), 100.0 + i) for i in sorted(set(indices))]


class Publisher:
    def __init__(self, host: str, port: int, topic: str) -> None:
        self.topic = topic
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(100)
        self.client.connect(host, port)
        self.client.loop_start()

    def send(self, payloads) -> None:  # noqa: ANN001
        infos = [self.client.publish(self.topic, json.dumps(p), qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(20)
            assert info.is_published()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def mqtt_setup(settings, mqtt_broker):
    host, port = mqtt_broker
    topic = f"pantau-test/{uuid.uuid4().hex[:8]}"
    client_id = f"pantau-test-{uuid.uuid4().hex[:10]}"
    s = settings.model_copy(
        update={"mqtt_url": f"mqtt://{host}:{port}", "mqtt_topic": f"{topic}/#"}
    )
    pub = Publisher(host, port, f"{topic}/musi")
    yield s, client_id, pub
    pub.close()
    forget_mqtt_session(host, port, client_id)


def _subscriber(settings, db, client_id, **kw) -> SensorSubscriber:  # noqa: ANN001
    sub = SensorSubscriber(settings, db, client_id=client_id, **kw)
    sub.MAX_BACKOFF_S = 0.5
    sub.start()
    assert sub.subscribed.wait(10), "never subscribed"
    return sub


def test_postgresql_restart_loses_nothing_and_stores_each_reading_once(pg_db, mqtt_setup):
    settings, client_id, pub = mqtt_setup
    _add_sensor(pg_db)
    url = make_url(pg_db.url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432)).up()
    via_relay = Database(url.set(host="127.0.0.1", port=relay.port).render_as_string(False))
    sub = _subscriber(settings, via_relay, client_id)
    try:
        pub.send([_reading(i) for i in range(3)])
        assert wait_for(lambda: sub.stats.written == 3, 15), sub.stats
        relay.down()  # the database restarts: live connections reset, new ones refused
        during = [_reading(i) for i in range(3, 40)] + [_reading(1), _reading(5)]  # 2 re-sent
        pub.send(during)
        # every message is acknowledged only once durable: here, in the spool
        assert wait_for(lambda: sub.stats.spooled == 3 + len(during), 30), sub.stats
        assert sub.spool.pending and sub.stats.db_errors >= 1
        assert _stored(pg_db) == _expected(range(3))
        relay.up()
        assert wait_for(lambda: not sub.spool.pending, 30), sub.stats
        pub.send([_reading(40)])
        assert wait_for(lambda: len(_stored(pg_db)) == 41, 15), sub.stats
    finally:
        sub.stop()
        relay.down()
        via_relay.dispose()
    assert _stored(pg_db) == _expected(range(41))
    assert sub.stats.replayed == 3 + len(during) + 1 and sub.stats.duplicates == 2
    assert sub.spool.path.stat().st_size == 0


def _locked_sqlite(settings) -> Database:  # noqa: ANN001
    """The subscriber's own handle on the SQLite store, giving up on a lock after 0.2 s instead
    of the production 30 s (the outage is the same, the test is faster)."""
    db = Database(settings.sqlalchemy_url)

    @event.listens_for(db.engine, "connect")
    def _short_busy(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    return db


def test_sqlite_outage_longer_than_the_brokers_queue_loses_nothing(sqlite_db, mqtt_setup):
    """1100 readings while the database is locked: more than mosquitto keeps for one client
    (20 in flight + max_queued_messages 1000), so holding them unacknowledged would lose some;
    the spool keeps them all."""
    settings, client_id, pub = mqtt_setup
    _add_sensor(sqlite_db)
    db = _locked_sqlite(settings)
    sub = _subscriber(settings, db, client_id)
    locker = sqlite3.connect(settings.var_dir / "pantau.db", isolation_level=None)
    try:
        pub.send([_reading(0)])
        assert wait_for(lambda: sub.stats.written == 1, 15), sub.stats
        locker.execute("BEGIN EXCLUSIVE")
        n = 1100
        pub.send([_reading(i) for i in range(1, n + 1)])
        assert wait_for(lambda: sub.stats.spooled == n + 1, 90), sub.stats
        assert _stored(sqlite_db) == _expected([0])
        locker.execute("ROLLBACK")
        assert wait_for(lambda: len(_stored(sqlite_db)) == n + 1, 60), sub.stats
        assert wait_for(lambda: not sub.spool.pending, 10), sub.stats
    finally:
        locker.close()
        sub.stop()
        db.dispose()
    assert _stored(sqlite_db) == _expected(range(n + 1))
    with sqlite_db.session() as s:
        assert s.scalar(select(Sensor.last_value)) == 100.0 + n


def test_full_spool_stops_acknowledging_and_the_broker_keeps_the_rest(sqlite_db, mqtt_setup):
    settings, client_id, pub = mqtt_setup
    _add_sensor(sqlite_db)
    db = _locked_sqlite(settings)
    sub = _subscriber(settings, db, client_id, spool_max_bytes=400)  # about 3 messages
    locker = sqlite3.connect(settings.var_dir / "pantau.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        pub.send([_reading(i) for i in range(10)])
        assert wait_for(lambda: sub.stats.spool_full >= 1, 30), sub.stats
        assert 0 < sub.stats.spooled < 10
        assert sub.spool.size <= 400
        locker.execute("ROLLBACK")
        assert wait_for(lambda: len(_stored(sqlite_db)) == 10, 60), sub.stats
    finally:
        locker.close()
        sub.stop()
        db.dispose()
    assert _stored(sqlite_db) == _expected(range(10))


def test_messages_not_yet_spooled_come_again_after_a_restart(sqlite_db, mqtt_setup):
    """Spool full, subscriber stopped: the messages it held were never acknowledged, so the
    broker delivers them to the next subscriber with the same client id."""
    settings, client_id, pub = mqtt_setup
    _add_sensor(sqlite_db)
    db = _locked_sqlite(settings)
    sub = _subscriber(settings, db, client_id, spool_max_bytes=400)
    locker = sqlite3.connect(settings.var_dir / "pantau.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        pub.send([_reading(i) for i in range(10)])
        assert wait_for(lambda: sub.stats.spool_full >= 1, 30), sub.stats
        held = 10 - sub.stats.spooled
        assert held > 0
    finally:
        sub.stop()
        db.dispose()
        locker.execute("ROLLBACK")
        locker.close()
    assert _stored(sqlite_db) == []
    again = _subscriber(settings, sqlite_db, client_id)
    try:
        assert wait_for(lambda: len(_stored(sqlite_db)) == 10, 30), again.stats
    finally:
        again.stop()
    assert _stored(sqlite_db) == _expected(range(10))
    assert again.stats.spooled >= held


SUBSCRIBER = """
import sys, time
sys.path.insert(0, {root!r})
from pantau.settings import Settings
from store.db import Database
from ingestion.sensors import SensorSubscriber
settings = Settings(var_dir={var!r}, database_url="", secret_key="t", ingest_enabled=False,
                    simulate_cameras=0, mqtt_url={mqtt!r}, mqtt_topic={topic!r})
sub = SensorSubscriber(settings, Database({db!r}), client_id={cid!r})
sub.MAX_BACKOFF_S = 0.5
sub.start()
assert sub.subscribed.wait(10)
print("subscribed", flush=True)
while True:
    time.sleep(0.2)
    print(sub.stats.spooled, sub.stats.replayed, sub.stats.written, flush=True)
"""


def _spawn(settings, db_url: str, client_id: str) -> subprocess.Popen:  # noqa: ANN001
    code = SUBSCRIBER.format(
        root=str(ROOT),
        var=str(settings.var_dir),
        mqtt=settings.mqtt_url,
        topic=settings.mqtt_topic,
        db=db_url,
        cid=client_id,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    line = readline_within(proc.stdout, 60)
    if line.strip() != "subscribed":
        proc.kill()
        proc.wait(10)
    assert line.strip() == "subscribed", f"subscriber did not start within 60 s: {line!r}"
    return proc


def _spool_lines(settings, client_id: str) -> int:  # noqa: ANN001
    path = Path(settings.var_dir) / "sensors" / f"{client_id}.spool"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_subscriber_killed_during_an_outage_gets_everything_after_restart(pg_db, mqtt_setup):
    """Killed (SIGKILL) while the database is down: what it had spooled is replayed and what was
    published while it was dead comes from the broker's persistent session."""
    settings, client_id, pub = mqtt_setup
    _add_sensor(pg_db)
    url = make_url(pg_db.url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432)).up()
    db_url = url.set(host="127.0.0.1", port=relay.port).render_as_string(False)
    proc = _spawn(settings, db_url, client_id)
    try:
        pub.send([_reading(0)])
        assert wait_for(lambda: len(_stored(pg_db)) == 1, 20)
        relay.down()
        pub.send([_reading(i) for i in range(1, 11)])
        assert wait_for(lambda: _spool_lines(settings, client_id) == 10, 30)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        pub.send([_reading(i) for i in range(11, 21)])  # nobody listening: the broker keeps them
        relay.up()
        proc = _spawn(settings, db_url, client_id)
        assert wait_for(lambda: len(_stored(pg_db)) == 21, 30), _stored(pg_db)
        assert wait_for(lambda: _spool_lines(settings, client_id) == 0, 10)
    finally:
        proc.kill()
        proc.wait(10)
        relay.down()
    assert _stored(pg_db) == _expected(range(21))


def test_spool_cuts_a_torn_entry_resumes_at_its_offset_and_is_exclusive(tmp_path):
    path = tmp_path / "s.spool"
    spool = Spool(path, 10_000)
    for i in range(3):
        spool.append(T0, "t", json.dumps(_reading(i)).encode())
    first = spool.read(1)
    spool.advance(first[0][0])  # entry 0 is in the database
    with pytest.raises(SpoolInUse, match="in use"):
        Spool(path, 10_000)
    spool.close()
    with open(path, "ab") as f:
        f.write(b'{"at": "2026-11-23T01:00:00+00:00", "payl')  # crash mid-append
    again = Spool(path, 10_000)
    entries = again.read()
    assert [json.loads(e["payload"])["value"] for _, e, _ in entries] == [101.0, 102.0]
    again.advance(entries[-1][0])
    assert not again.pending and path.stat().st_size == 0
    with pytest.raises(SpoolFull):
        again.append(T0, "t", b"x" * 20_000)
    again.close()


def test_database_refusing_a_message_for_good_keeps_it_aside_and_goes_on(sqlite_db, settings):
    _add_sensor(sqlite_db)
    sub = SensorSubscriber(settings, sqlite_db, client_id=f"pantau-test-{uuid.uuid4().hex[:8]}")
    try:
        assert sub.handle(json.dumps(_reading(1)).encode())
        assert sub.stats.written == 1 and sub.stats.dead_letters == 0
        original = sub._store

        def refuse(items, received_at):  # noqa: ANN001 - not an outage: a bug, a constraint
            raise ValueError("constraint the database will never accept")

        sub._store = refuse
        assert sub.handle(json.dumps(_reading(2)).encode())
        sub._store = original
        assert sub.handle(json.dumps(_reading(3)).encode())
    finally:
        sub.spool.close()
    assert sub.stats.dead_letters == 1 and not sub.spool.pending
    kept = [json.loads(line) for line in sub.dead_letter_path.read_text().splitlines()]
    assert json.loads(kept[0]["payload"])["value"] == 102.0 and "never accept" in kept[0]["error"]
    assert _stored(sqlite_db) == _expected([1, 3])


def test_a_failed_append_leaves_the_spool_whole(tmp_path):
    spool = Spool(tmp_path / "s.spool", 10_000)
    spool.append(T0, "t", json.dumps(_reading(0)).encode())
    size = spool.size
    readonly = os.open(spool.path, os.O_RDONLY)
    saved = os.dup(spool._fd)
    os.dup2(readonly, spool._fd)  # the disk refuses writes from here on
    try:
        with pytest.raises(SpoolFull, match="cannot write"):
            spool.append(T0, "t", json.dumps(_reading(1)).encode())
    finally:
        os.dup2(saved, spool._fd)
        os.close(saved)
        os.close(readonly)
    assert spool.size == size == spool.path.stat().st_size
    spool.append(T0, "t", json.dumps(_reading(2)).encode())
    entries = spool.read()
    assert [json.loads(e["payload"])["value"] for _, e, _ in entries if e] == [100.0, 102.0]
    spool.advance(entries[-1][0])
    assert not spool.pending
    spool.close()
