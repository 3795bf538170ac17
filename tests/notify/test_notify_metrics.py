"""/metrics carries the outbox counts (pending, delivering, delivered, dead)."""

from __future__ import annotations

from notify_helpers import add_channel
from prometheus_client.parser import text_string_to_metric_families

from store import outbox
from store.models import OutboxMessage


def test_metrics_count_outbox_rows_by_status(settings, sqlite_db):
    from dashboard.app import create_app

    with sqlite_db.session() as s:
        add_channel(s)
        for i in range(3):
            outbox.enqueue(s, "test", {"title": str(i)}, key=f"k{i}", channels=[1])
        s.flush()
        rows = s.query(OutboxMessage).order_by(OutboxMessage.id).all()
        rows[0].status = "dead"
        rows[1].status = "delivered"
    app = create_app(settings, sqlite_db)
    body = app.server.test_client().get("/metrics").get_data(as_text=True)
    got = {
        s.labels["status"]: s.value
        for fam in text_string_to_metric_families(body)
        if fam.name == "pantau_notifications"
        for s in fam.samples
    }
    assert got == {"pending": 1, "delivering": 0, "delivered": 1, "dead": 1}
