"""Ingestion metrics (issue 9 item 5): the recorder's buckets and quantiles and the Redis sink
of Celery workers against real Redis (the local pool end to end: test_ingestion_metrics_pool)."""

from __future__ import annotations

import json
import os
import time

import pytest

from ingestion import metrics as im


# --------------------------------------------------------------------------------------------
# the recorder
def test_buckets_follow_prometheus_le_semantics():
    m = im.IngestMetrics()
    now = 1_800_000_000.0
    for lateness in (0.2, 0.5, 0.7, 3.0, 3.0, 45.0, 900.0):
        m.observe_sample("stored", lateness_s=lateness, now=now)
    totals = m.to_dict()["totals"]
    assert totals["samples|stored|"] == 7
    buckets, total = im.histogram(totals, "lateness")
    cumulative = dict(buckets)
    assert cumulative["0.5"] == 2  # le="0.5" includes 0.5 itself
    assert cumulative["1.0"] == 3
    assert cumulative["5.0"] == 5
    assert cumulative["60.0"] == 6
    assert cumulative["600.0"] == 6 and cumulative["+Inf"] == 7
    assert total == pytest.approx(952.4)
    assert totals["lateness|count"] == 7


def test_quantiles_interpolate_like_histogram_quantile():
    m = im.IngestMetrics()
    now = 1_800_000_000.0
    for _ in range(50):
        m.observe_sample("stored", lateness_s=0.8, now=now)  # bucket (0.5, 1]
    for _ in range(50):
        m.observe_sample("stored", lateness_s=12.0, now=now)  # bucket (10, 15]
    s = im.summarize(m.to_dict(), now=now + 1)
    # rank 50 of 100 is the top of (0.5, 1]; rank 95 is 45/50 of the way through (10, 15]
    assert s["lateness_p50_s"] == pytest.approx(1.0)
    assert s["lateness_p95_s"] == pytest.approx(14.5)
    assert s["totals"] == {"stored": 100}


def test_outcomes_reasons_and_rates():
    m = im.IngestMetrics()
    t0 = 1_800_000_000.0 - (1_800_000_000.0 % 60)  # a minute boundary
    for i in range(30):
        m.observe_sample("stored", now=t0 + i)
    for _ in range(6):
        m.observe_sample("failed", reason="Timeout", now=t0 + 30)
    m.observe_sample("failed", reason="connect", now=t0 + 31)
    m.observe_sample("expired", now=t0 + 32)
    m.observe_sample("stored", unknown_count=True, now=t0 + 33)
    s = im.summarize(m.to_dict(), now=t0 + 59.999, minutes=1)
    assert s["per_minute"]["stored"] == pytest.approx(31, rel=1e-3)
    assert s["per_minute"]["failed"] == pytest.approx(7, rel=1e-3)
    assert s["failed_by_reason"] == {"timeout": 6, "connect": 1}
    assert s["totals"]["expired"] == 1
    assert s["unknown_count"] == 1
    with pytest.raises(ValueError, match="outcome"):
        m.observe_sample("exploded")


def test_skipped_slots_count_as_expired():
    m = im.IngestMetrics()
    assert m.observe_skipped(60, 1000.0, 1060.0) == 0  # on time: the next slot
    assert m.observe_skipped(60, 1000.0, 1240.0) == 3  # 1060, 1120, 1180 never sampled
    assert m.to_dict()["totals"] == {"samples|expired|": 3}


def test_rates_over_the_time_actually_counted():
    t0 = 1_800_000_000.0 - (1_800_000_000.0 % 60)
    m = im.IngestMetrics()
    m.started_at = t0 + 30  # a supervisor that started 30 s before now
    for i in range(10):
        m.observe_sample("stored", now=t0 + 31 + i)
    # 10 samples in 30 s: 20 a minute (not 10 over 5 minutes = 2)
    assert im.summarize(m.to_dict(), now=t0 + 60)["per_minute"]["stored"] == pytest.approx(20)
    # + a source that does not say since when (Celery in Redis): the whole window, the last 5
    # minutes up to now (4 whole minutes and 0 s of the current one)
    merged = im.merge(m.to_dict(), {"totals": {}, "minutes": {}})
    assert im.summarize(merged, now=t0 + 60)["per_minute"]["stored"] == pytest.approx(2.5)


def test_window_keeps_only_recent_minutes():
    m = im.IngestMetrics(window_minutes=3)
    t0 = 1_800_000_000.0
    for k in range(10):
        m.observe_sample("stored", lateness_s=1.0, now=t0 + 60 * k)
    doc = m.to_dict()
    assert len(doc["minutes"]) == 3
    assert doc["totals"]["samples|stored|"] == 10
    series = im.per_minute_series(doc, now=t0 + 60 * 9, minutes=5)
    assert [c.get("stored", 0) for _, c in series] == [0, 0, 1, 1, 1]


# --------------------------------------------------------------------------------------------
# the Redis sink (Celery workers) against real Redis
def test_redis_sink_round_trip(redis_url):
    import redis

    prefix = f"pantau:metrics:test{os.getpid()}"
    sink = im.RedisMetricsSink(redis_url, prefix=prefix)
    client = redis.Redis.from_url(redis_url)
    sink.reset()
    queues = (f"{prefix}.fetch", f"{prefix}.analyse")
    client.delete(*queues, queues[0] + "\x06\x163")
    try:
        now = time.time()
        sink.observe_sample("stored", 2.5, 0.3, 0.04, 0.01, now=now)
        sink.observe_sample("stored", 40.0, 1.2, 0.2, 0.02, unknown_count=True, now=now)
        sink.observe_sample("failed", fetch_s=10.0, reason="timeout", now=now)
        sink.observe_sample("expired", now=now)
        client.rpush(queues[0], b"t1", b"t2")
        client.rpush(queues[0] + "\x06\x163", b"t3")  # kombu's priority list of the queue
        client.rpush(queues[1], b"t4")
        doc = sink.read(now=now, queues=queues)
        totals = doc["metrics"]["totals"]
        assert totals["samples|stored|"] == 2
        assert totals["samples|failed|timeout"] == 1
        assert totals["samples|expired|"] == 1
        assert totals["unknown_count"] == 1
        assert totals["lateness|count"] == 2 and totals["lateness|sum"] == pytest.approx(42.5)
        assert totals["fetch|count"] == 3 and totals["fetch|sum"] == pytest.approx(11.5)
        assert totals["analyse|le|0.05"] == 1 and totals["analyse|le|0.25"] == 1
        assert totals["write|sum"] == pytest.approx(0.03)
        assert sum(doc["metrics"]["minutes"][str(im.minute_of(now))].values()) == sum(
            totals.values()
        )
        assert doc["queues"] == {queues[0]: 3, queues[1]: 1}
        [proc] = [p for p in doc["processes"] if p["pid"] == os.getpid()]
        assert proc["role"] == "celery-worker" and proc["rss_bytes"] > 10 * 1024 * 1024
        # a process that stopped reporting PROCESS_TTL_S ago is dropped from the table
        client.hset(
            sink.processes_key,
            "gone-host:1",
            json.dumps({"role": "celery-worker", "host": "gone-host", "pid": 1,
                        "heartbeat_at": now - im.PROCESS_TTL_S - 5}),
        )  # fmt: skip
        later = sink.read(now=now, queues=queues)["processes"]
        assert [p["pid"] for p in later] == [os.getpid()]
        assert client.hkeys(sink.processes_key) == [f"{proc['host']}:{proc['pid']}".encode()]
        assert 0 < client.ttl(sink.minute_key(im.minute_of(now))) <= 16 * 60
        s = im.summarize(doc["metrics"], now=now)
        assert s["lateness_p50_s"] is not None and 2 <= s["lateness_p50_s"] <= 5
        # a second worker process adds to the same hashes
        other = im.RedisMetricsSink(redis_url, prefix=prefix)
        other.observe_sample("stored", 1.0, now=now)
        assert sink.read(now=now, queues=queues)["metrics"]["totals"]["samples|stored|"] == 3
    finally:
        sink.reset()
        client.delete(*queues, queues[0] + "\x06\x163")


def test_redis_sink_never_breaks_a_sample():
    sink = im.RedisMetricsSink("redis://127.0.0.1:1/0")  # nothing listens on port 1
    t0 = time.monotonic()
    sink.observe_sample("stored", 1.0, 0.1, 0.1, 0.1)
    assert time.monotonic() - t0 < 10
