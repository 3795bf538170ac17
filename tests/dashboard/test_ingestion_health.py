"""Read side of ingestion health: cameras by status and failing cameras by reason with since
when (SQLite and PostgreSQL), a stale or broken status file, and Celery metrics read from real
Redis into ``/metrics``."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from dashboard.queries import ingestion as q
from ingestion import metrics as im
from store.models import Camera, CameraStatusEvent

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TIMEOUT = "Tidak merespons / not responding"
CONNECT = "Tidak terhubung / cannot connect"


def _cam(s, code: str, status: str, reason: str | None = None, enabled: bool = True) -> Camera:  # noqa: ANN001
    cam = Camera(
        code=code,
        name=code,
        lat=-2.99,
        lon=104.76,
        stream_url="http://127.0.0.1:9/x.jpg",
        protocol="snapshot",
        status=status,
        status_reason=reason,
        enabled=enabled,
    )
    s.add(cam)
    s.flush()
    return cam


def _events(s, cam: Camera, *steps: tuple[int, str]) -> None:  # noqa: ANN001
    for minutes, status in steps:
        s.add(
            CameraStatusEvent(camera_id=cam.id, ts=T0 + timedelta(minutes=minutes), status=status)
        )


def test_failing_cameras_by_reason_and_since(db):
    with db.session() as s:
        a = _cam(s, "A", "offline", f"{TIMEOUT}: timed out after 10s")
        # online, then degraded at +10, offline at +20, online again at +30, failing from +40
        _events(s, a, (0, "online"), (10, "degraded"), (20, "offline"), (30, "online"),
                (40, "degraded"), (50, "offline"))  # fmt: skip
        b = _cam(s, "B", "degraded", f"{TIMEOUT}: read timed out")
        _events(s, b, (5, "unknown"), (7, "degraded"))  # never online: since its first event
        c = _cam(s, "C", "online")
        _events(s, c, (0, "offline"), (3, "online"))
        _cam(s, "D", "offline", f"{CONNECT}: refused", enabled=False)  # disabled: not failing
        _cam(s, "E", "offline", f"{CONNECT}: connection refused")  # no events: since unknown
    with db.session() as s:
        by_status = q.cameras_by_status(s)
        rows = q.failing_cameras(s)
    assert by_status == {
        "unknown": 0,
        "online": 1,
        "degraded": 1,
        "offline": 2,
        "disabled": 1,
    }
    since = {r["code"]: r["since"] for r in rows}
    assert since == {
        "A": T0 + timedelta(minutes=40),
        "B": T0 + timedelta(minutes=5),
        "E": None,
    }
    assert [r["code"] for r in rows] == ["B", "A", "E"]  # longest failing first
    groups = q.failing_by_reason(rows)
    assert [(g["kind"], g["cameras"], g["offline"]) for g in groups] == [
        (CONNECT, 1, 1),
        (TIMEOUT, 2, 1),
    ] or [(g["kind"], g["cameras"], g["offline"]) for g in groups] == [
        (TIMEOUT, 2, 1),
        (CONNECT, 1, 1),
    ]
    timeout = next(g for g in groups if g["kind"] == TIMEOUT)
    assert timeout["since"] == T0 + timedelta(minutes=5) and timeout["codes"] == ["B", "A"]
    assert groups[0]["kind"] == TIMEOUT  # most cameras first


def test_metrics_file_fresh_stale_and_broken(tmp_path):
    now = time.time()
    path = tmp_path / q.METRICS_FILE
    assert q.read_local(tmp_path, now) is None
    path.write_text(json.dumps({"updated_at": datetime.fromtimestamp(now - 3, UTC).isoformat()}))
    doc = q.read_local(tmp_path, now)
    assert doc["fresh"] and 2.5 < doc["age_s"] < 3.5
    doc = q.read_local(tmp_path, now + 60)
    assert not doc["fresh"]
    path.write_text("{half a json")
    assert q.read_local(tmp_path, now) is None


def test_metrics_endpoint_reads_celery_workers_from_redis(settings, sqlite_db, redis_url):
    import redis

    from dashboard.app import create_app

    ns = "uji-ns:"  # settings.celery_namespace: queues and metric keys carry it
    client_r = redis.Redis.from_url(redis_url)
    sink = im.RedisMetricsSink(redis_url, namespace=ns)  # the keys the dashboard reads
    assert sink.totals_key == "uji-ns:pantau:metrics:totals"
    sink.reset()
    queues = (ns + "pantau.analyse", ns + "pantau.fetch")
    client_r.delete(*queues)
    q._redis_down_until.clear()
    try:
        for lateness in (1.0, 2.0, 3.0):
            sink.observe_sample("stored", lateness, 0.2, 0.05, 0.01)
        sink.observe_sample("failed", fetch_s=10.0, reason="timeout")
        sink.observe_sample("expired")
        client_r.rpush(queues[0], b"a", b"b", b"c")
        client_r.rpush(queues[1], b"d")
        client_r.rpush("pantau.fetch", b"another installation's")
        app = create_app(
            settings.model_copy(update={"celery_broker_url": redis_url, "celery_namespace": ns}),
            sqlite_db,
        )
        body = app.server.test_client().get("/metrics").get_data(as_text=True)
        samples = {
            (fam.name, s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(body)
            for s in fam.samples
        }

        def get(family: str, name: str, **labels: str) -> float | None:
            return samples.get((family, name, frozenset(labels.items())))

        assert get("pantau_ingest_up", "pantau_ingest_up", mode="celery") == 1
        assert get("pantau_ingest_up", "pantau_ingest_up", mode="local") == 0
        total = "pantau_samples_total"
        assert get("pantau_samples", total, mode="celery", outcome="stored", reason="") == 3
        assert get("pantau_samples", total, mode="celery", outcome="failed", reason="timeout") == 1
        assert get("pantau_samples", total, mode="celery", outcome="expired", reason="") == 1
        lat = "pantau_sample_lateness_seconds"
        assert get(lat, lat + "_count", mode="celery") == 3
        assert get(lat, lat + "_sum", mode="celery") == 6.0
        assert get(lat, lat + "_bucket", mode="celery", le="2.0") == 2
        assert get("pantau_queue_length", "pantau_queue_length", queue="pantau.analyse") == 3
        assert get("pantau_queue_length", "pantau_queue_length", queue="pantau.fetch") == 1
        rss = [
            (dict(labels), v)
            for (fam, _n, labels), v in samples.items()
            if fam == "pantau_ingest_process_resident_memory_bytes"
        ]
        mine = [v for labels, v in rss if labels["pid"] == str(os.getpid())]
        assert mine and mine[0] > 10 * 1024 * 1024
        assert all(labels["mode"] == "celery" for labels, _ in rss)
    finally:
        sink.reset()
        client_r.delete(*queues, "pantau.fetch")


# --------------------------------------------------------------------------------------------
# the admin page's pieces: every number with a unit and a time, in both languages
def _write_status(settings, now: float) -> None:  # noqa: ANN001
    m = im.IngestMetrics()
    for i in range(40):
        m.observe_sample("stored", lateness_s=0.5 + i * 0.05, fetch_s=0.2, analyse_s=0.03, now=now)
    for _ in range(4):
        m.observe_sample("failed", fetch_s=10.0, reason="timeout", now=now)
    doc = {
        "updated_at": datetime.fromtimestamp(now - 2, UTC).isoformat(),
        "mode": "local",
        "processes": [
            im.process_info("supervisor"),
            {
                "role": "worker",
                "index": 0,
                "host": "h",
                "pid": 4242,
                "rss_bytes": 300 * 2**20,
                "heartbeat_at": now - 1,
            },  # fmt: skip
        ],
        "scheduler": {"due": 3, "inflight": 2, "cameras": 9},
        "writer_backlog": 7,
        "worker_restarts": 1,
        "metrics": m.to_dict(),
    }
    (settings.var_dir / q.METRICS_FILE).write_text(json.dumps(doc))


def test_page_pieces_have_units_and_times_in_both_languages(settings, sqlite_db):
    from plotly.utils import PlotlyJSONEncoder

    from dashboard.app import create_app
    from dashboard.callbacks import admin_ingestion as page
    from dashboard.i18n import STRINGS

    app = create_app(settings, sqlite_db)
    keys = [k for k in STRINGS if k.startswith("ingest.") or k == "nav.ingestion"]
    assert len(keys) > 40
    assert not [k for k in keys if not STRINGS[k].get("id") or not STRINGS[k].get("en")]
    with sqlite_db.session() as s:
        a = _cam(s, "PLG-X-01", "offline", f"{TIMEOUT}: timed out after 10s")
        _events(s, a, (0, "online"), (10, "offline"))
    now = time.time()
    _write_status(settings, now)
    texts = {}
    for lang in ("id", "en"):
        with app.server.test_request_context("/", headers={"Cookie": f"pantau_lang={lang}"}):
            snap = q.ingest_snapshot(settings, sqlite_db, now)
            parts = [
                page.tiles(snap),
                page.process_table(snap),
                page.status_badges(snap),
                page.reasons_table(snap),
                page.failing_table(snap),
                page.source_note(snap),
            ]
            texts[lang] = json.dumps(parts, cls=PlotlyJSONEncoder)
            fig = page.outcome_figure(snap)
        assert sum(sum(tr["y"]) for tr in fig["data"]) == 44  # 40 stored + 4 failed
        assert fig["layout"]["yaxis"]["title"]["text"]
    idt, ent = texts["id"], texts["en"]
    assert snap["local_live"] and snap["writer_backlog"] == 7
    # lateness with its unit, rates per minute, RSS in MiB, times in WIB
    assert '"s"' in idt and "/menit" in idt and "/min" in ent and "MiB" in idt
    assert "300 MiB" in idt and "WIB" in idt and "WIB" in ent
    assert "Keterlambatan p95" in idt and "Lateness p95" in ent
    assert "Tidak merespons" in idt and "Not responding" in ent
    assert "not responding" not in idt.lower()  # the other language's half is not shown
    assert "diproses 2" in idt and "in flight 2" in ent  # scheduler in flight
    assert "4242" in idt and "Pekerja" in idt and "Worker" in ent
