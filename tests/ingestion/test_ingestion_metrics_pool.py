"""A real local pool (2 simulated cameras) whose counters, histograms and per-process RSS reach
``var/ingest_status.json`` / ``ingest_metrics.json``, ``/metrics`` and ``pantau ingest``'s live table (issue 9 item 5)."""

from __future__ import annotations

import json
import re
import time

from ingest_helpers import make_camera, wait_for
from prometheus_client.parser import text_string_to_metric_families

from ingestion import metrics as im
from ingestion.health import KIND_LABEL
from ingestion.local import Supervisor
from ingestion.simulator import CameraSimulator, make_cameras


def families(body: str) -> dict:
    """name -> {(sample name, frozen labels): value} of a Prometheus text body."""
    out: dict = {}
    for fam in text_string_to_metric_families(body):
        out[fam.name] = {(s.name, frozenset(s.labels.items())): s.value for s in fam.samples}
    return out


def value(fams: dict, family: str, sample: str, **labels: str) -> float:
    return fams[family].get((sample, frozenset(labels.items())), 0.0)


def test_supervisor_run_feeds_status_file_and_metrics_endpoint(settings, sqlite_db):
    from dashboard.app import create_app

    settings = settings.model_copy(
        update={
            "connect_timeout_s": 1.0,
            "read_timeout_s": 1.5,
            "workers": 1,
            "celery_broker_url": "memory://",  # no Celery here
        }
    )
    sim = CameraSimulator(make_cameras(2, kinds=["street", "crowd"], fps=4)).start()
    with sqlite_db.session() as s:
        for i in range(2):
            make_camera(s, f"MET-{i}", sim.url(i, "snapshot"), "snapshot")
    status_path = settings.var_dir / "ingest_status.json"
    sup = Supervisor(settings, sqlite_db, backoff_base_s=0.5, reload_every_s=1000).start()
    app = create_app(settings, sqlite_db)
    client = app.server.test_client()
    try:

        def stored() -> float:
            if not status_path.exists():
                return 0
            doc = json.loads(status_path.read_text())
            return ((doc.get("metrics") or {}).get("totals") or {}).get("samples|stored|", 0)

        assert wait_for(lambda: stored() >= 4, 45), "no samples counted in the status file"

        def scrape() -> dict:
            return families(client.get("/metrics").get_data(as_text=True))

        first = wait_for(
            lambda: (
                (f := scrape())
                and value(f, "pantau_cameras", "pantau_cameras", status="online") == 2
                and f
            ),
            20,
        )
        assert first, scrape().get("pantau_cameras")
        assert value(first, "pantau_ingest_up", "pantau_ingest_up", mode="local") == 1
        n_stored = value(
            first,
            "pantau_samples",
            "pantau_samples_total",
            mode="local",
            outcome="stored",
            reason="",
        )
        assert n_stored >= 4
        for fam in (
            "pantau_sample_lateness_seconds",
            "pantau_fetch_duration_seconds",
            "pantau_analysis_duration_seconds",
        ):
            count = value(first, fam, fam + "_count", mode="local")
            assert count >= n_stored, fam
            inf = value(first, fam, fam + "_bucket", mode="local", le="+Inf")
            assert inf == count, fam
        doc = json.loads(status_path.read_text())
        small = settings.var_dir / "ingest_metrics.json"  # what the dashboard reads
        assert small.stat().st_size < 64 * 1024
        assert json.loads(small.read_text())["metrics"]["totals"]["samples|stored|"] >= 4
        roles = sorted(p["role"] for p in doc["processes"])
        assert roles == ["supervisor", "worker"]
        rss = {
            dict(labels)["role"]: v
            for (name, labels), v in first["pantau_ingest_process_resident_memory_bytes"].items()
        }
        assert rss["supervisor"] > 20 * 1024 * 1024 and rss["worker"] > 20 * 1024 * 1024
        assert {dict(labels)["pid"] for (_n, labels) in first[
            "pantau_ingest_process_resident_memory_bytes"]} == {
            str(p["pid"]) for p in doc["processes"]}  # fmt: skip
        assert "pantau_scheduler_samples" in first and "pantau_writer_backlog_samples" in first
        assert (
            value(first, "pantau_worker_restarts", "pantau_worker_restarts_total", mode="local")
            == 0
        )

        # a camera that starts refusing: failures counted by reason, counters only grow
        sim.set_fault(1, "refuse")

        def failed_connect() -> float:
            doc = json.loads(status_path.read_text())
            totals = (doc.get("metrics") or {}).get("totals") or {}
            return sum(v for k, v in totals.items() if k.startswith("samples|failed|"))

        assert wait_for(lambda: failed_connect() >= 2, 30)
        later = families(client.get("/metrics").get_data(as_text=True))
        failed = {
            dict(labels)["reason"]: v
            for (name, labels), v in later["pantau_samples"].items()
            if dict(labels).get("outcome") == "failed"
        }
        assert failed and sum(failed.values()) >= 2 and all(failed), failed
        assert set(failed) <= set(KIND_LABEL), failed  # the health kinds
        assert (
            value(
                later,
                "pantau_samples",
                "pantau_samples_total",
                mode="local",
                outcome="stored",
                reason="",
            )
            > n_stored
        )
        # `pantau ingest`'s live table shows the same summary
        from rich.console import Console

        from ingestion.commands import _status_table

        console = Console(record=True, width=200)
        console.print(_status_table(sup, time.time() - 10))
        text = console.export_text()
        assert re.search(r"lateness p50 \d+\.\d s, p95 \d+\.\d s \(last 5 min\)", text), text
        assert re.search(r"samples/min: .*stored \d", text) and "failed" in text
        # RSS is printed with thousands separators (a test process past 1 GB: "1,389 MiB")
        assert re.search(r"supervisor \d+ [\d,]+ MiB, worker0 \d+ [\d,]+ MiB", text), text
        writes = value(
            later,
            "pantau_write_duration_seconds",
            "pantau_write_duration_seconds_count",
            mode="local",
        )
        assert writes >= 1
    finally:
        sup.stop()
        sim.stop()


# --------------------------------------------------------------------------------------------
# real Celery workers: their samples reach Redis and /metrics
def test_celery_workers_feed_redis_and_metrics_endpoint(settings, redis_url, pg_db, tmp_path):
    import uuid

    from celery_helpers import CameraServer, Cluster, drop_namespace, worker_env

    from dashboard.app import create_app
    from dashboard.queries import ingestion as q
    from ingestion.celery_app import FETCH_QUEUE, FETCH_TASK, make_celery

    ns = f"m{uuid.uuid4().hex[:8]}:"
    s = settings.model_copy(
        update={
            "celery_broker_url": redis_url,
            "celery_result_backend": "",
            "celery_namespace": ns,
            "connect_timeout_s": 2.0,
            "read_timeout_s": 3.0,
            "celery_fetch_deadline_s": 5.0,
            "detector": "blob",
        }
    )
    logdir = tmp_path / "logs"
    logdir.mkdir()
    cams = CameraServer()
    cluster = Cluster(worker_env(s, pg_db.url, redis_url, ns), logdir)
    app = make_celery(s)
    q._redis_down_until.clear()
    try:
        with pg_db.session() as db:
            ok_ids = [
                make_camera(db, f"CM-OK{i}", cams.add(f"ok{i}", "ok"), "snapshot",
                            sample_interval_s=60).id
                for i in range(3)
            ]  # fmt: skip
            dead_id = make_camera(
                db, "CM-DEAD", cams.add("dead", "dead"), "snapshot", sample_interval_s=60
            ).id
        # a task that expires in the queue before any worker runs: Celery drops it (expired)
        app.send_task(FETCH_TASK, args=(ok_ids[0], time.time() - 30), queue=FETCH_QUEUE,
                      expires=0.5)  # fmt: skip
        time.sleep(1.0)
        cluster.worker("fetch", 2)
        cluster.worker("analyse", 1)
        now = time.time()
        for cam_id in (*ok_ids, dead_id):  # one slot each: three stored, one failed
            app.send_task(FETCH_TASK, args=(cam_id, now), queue=FETCH_QUEUE)
        dash_app = create_app(s, pg_db)
        client = dash_app.server.test_client()

        def scrape() -> dict:
            return families(client.get("/metrics").get_data(as_text=True))

        def done() -> dict | None:
            f = scrape()
            stored = value(
                f, "pantau_samples", "pantau_samples_total", mode="celery", outcome="stored",
                reason="",
            )  # fmt: skip
            failed = sum(
                v for (_n, labels), v in f["pantau_samples"].items()
                if dict(labels).get("outcome") == "failed"
            )  # fmt: skip
            expired = value(
                f, "pantau_samples", "pantau_samples_total", mode="celery", outcome="expired",
                reason="",
            )  # fmt: skip
            return f if stored >= 3 and failed >= 1 and expired >= 1 else None

        fams = wait_for(done, 90, interval=1.0)
        assert fams, (scrape().get("pantau_samples"), cluster.logs())
        assert value(fams, "pantau_ingest_up", "pantau_ingest_up", mode="celery") == 1
        failed = {
            dict(labels)["reason"]
            for (_n, labels), v in fams["pantau_samples"].items()
            if dict(labels).get("outcome") == "failed" and v
        }
        assert failed <= set(KIND_LABEL) and failed, failed  # HTTP 503: a health kind
        for fam in (
            "pantau_sample_lateness_seconds",
            "pantau_fetch_duration_seconds",
            "pantau_analysis_duration_seconds",
            "pantau_write_duration_seconds",
        ):
            assert value(fams, fam, fam + "_count", mode="celery") >= 3, fam
        lateness = value(fams, "pantau_sample_lateness_seconds", "pantau_sample_lateness_seconds_sum", mode="celery")  # fmt: skip
        assert 0 < lateness < 3 * 60
        procs = [
            (dict(labels), v)
            for (_n, labels), v in fams["pantau_ingest_process_resident_memory_bytes"].items()
        ]
        worker_pids = {int(labels["pid"]) for labels, _ in procs if labels["mode"] == "celery"}
        assert len(worker_pids) >= 2, procs  # a fetch and an analysis process at least
        assert all(v > 20 * 1024 * 1024 for _, v in procs)
        assert set(dict(labels)["queue"] for (_n, labels) in fams["pantau_queue_length"]) == {
            "pantau.fetch",
            "pantau.analyse",
        }
        # the scheduler process reports its RSS too
        from ingestion.celery_scheduler import run_scheduler

        run_scheduler(s, pg_db, duration=1.0, housekeeping=False)
        rows = im.RedisMetricsSink(redis_url, namespace=ns).read()["processes"]
        assert "scheduler" in {r["role"] for r in rows}, rows
    finally:
        cluster.stop()
        cams.stop()
        drop_namespace(redis_url, ns)
