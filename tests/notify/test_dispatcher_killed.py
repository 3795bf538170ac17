"""A ``pantau notify`` process SIGKILLed between sending and marking a message delivered: the
lease expires, a second process sends it again with the same X-Pantau-Delivery, and the
receiver (which deduplicates on it) has exactly one acknowledged delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from notify_helpers import Receiver, add_camera, outbox_rows, verify, wait_for

from ingestion.notify.seed import seed_channels
from store import outbox
from store.models import Alert, OutboxStatus

ROOT = Path(__file__).resolve().parents[2]
SECRET = "kunci-rahasia"
PANTAU = str(Path(sys.executable).parent / "pantau")  # the console script (registers commands)


def _spawn(env: dict[str, str], worker: str) -> subprocess.Popen:
    return subprocess.Popen(
        [PANTAU, "notify", "--worker-id", worker],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_mid_delivery_gives_exactly_one_acknowledged_delivery(db, settings, tmp_path):
    rec = Receiver(script=["process-and-hang"]).start()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PANTAU_VAR_DIR": str(tmp_path / "var"),
        "PANTAU_DATABASE_URL": db.url,
        "PANTAU_NOTIFY_WEBHOOKS": rec.url,
        "PANTAU_NOTIFY_WEBHOOK_SECRET": SECRET,
        "PANTAU_NOTIFY_TIMEOUT_S": "2",
        "PANTAU_NOTIFY_LEASE_S": "4",
        "PANTAU_NOTIFY_POLL_S": "0.2",
        "PANTAU_NOTIFY_MIN_SEVERITY": "info",
        "PANTAU_MQTT_URL": "",
    }
    cfg = settings.model_copy(update={"notify_webhooks": rec.url, "notify_min_severity": "info"})
    seed_channels(db, cfg)  # the processes find the channel seeded (same env key)
    outbox.use_settings(cfg)
    with db.session() as s:
        cam = add_camera(s)
        s.add(
            Alert(
                rule="crowd_density",
                severity="warning",
                subject_type="camera",
                subject_id=cam.code,
                camera_id=cam.id,
                title="Kerumunan 3x biasanya di BKB",
                started_at=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
            )
        )
    outbox.use_settings(None)
    first = _spawn(env, "notify-kill-1")
    second = None
    try:
        assert rec.got_first.wait(60), (
            first.stderr.read().decode() if first.poll() else "no request"
        )
        # the receiver has the message and acted on it; the dispatcher waits for the answer
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        (row,) = outbox_rows(db)
        assert row.status == OutboxStatus.DELIVERING and row.attempts == 1
        second = _spawn(env, "notify-kill-2")
        assert wait_for(lambda: outbox_rows(db)[0].status == OutboxStatus.DELIVERED, 60), (
            outbox_rows(db)[0].last_error
        )
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        rec.stop()
    (row,) = outbox_rows(db)
    assert row.attempts == 2 and row.leased_by.startswith("notify-kill-2")
    assert len(rec.requests) == 2
    assert {r.headers["X-Pantau-Delivery"] for r in rec.requests} == {row.delivery_id}
    assert rec.requests[0].body == rec.requests[1].body
    assert all(verify(SECRET, r.body, r.headers["X-Pantau-Signature"]) for r in rec.requests)
    assert rec.processed == [row.delivery_id]  # exactly one acknowledged delivery
