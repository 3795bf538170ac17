"""Celery application for scaled-out ingestion (Redis broker from settings).

Start workers with ``pantau worker`` (or ``celery -A ingestion.tasks worker -Q pantau.ingest``)
and the scheduler with ``pantau ingest --celery``. Tasks are acknowledged late and rejected on
worker loss, so a sample whose worker dies is redelivered; the redelivered write is a no-op
because observations are unique on (camera, ts) and the scheduler fixes ``ts`` per slot.
"""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import worker_process_init

from pantau.settings import Settings

logger = logging.getLogger(__name__)

QUEUE = "pantau.ingest"


@worker_process_init.connect
def _one_opencv_thread_per_process(**_kwargs) -> None:
    """Prefork children run one sample at a time each: OpenCV's own thread pool would only
    oversubscribe the cores (the local pool does the same in its workers)."""
    import cv2

    cv2.setNumThreads(1)


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "pantau",
        broker=settings.celery_broker_url,
        backend=settings.celery_result_backend or None,
        include=["ingestion.tasks"],
    )
    app.conf.update(
        task_default_queue=QUEUE,
        task_routes={"pantau.sample_camera": {"queue": QUEUE}},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=3600,
        task_time_limit=max(60, int(settings.connect_timeout_s + settings.read_timeout_s) * 3),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app
