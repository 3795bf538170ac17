"""Ingestion health (``/admin/ingestion``, admins only): lateness, samples per minute by
outcome, the ingestion processes (pid, role, RSS, last heartbeat), cameras by status and the
failing cameras by reason with since when. Same figures as ``/metrics`` and ``pantau ingest``."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.components import card, graph, page_header
from dashboard.i18n import register, t

dash.register_page(
    __name__,
    path="/admin/ingestion",
    title="Ingesti — Pantau",
    order=97,
    nav_key="nav.ingestion",
    nav_group="admin",
    icon="bi-activity",
    roles=("admin",),
    id_prefix="admin-ingestion",
)

register(
    {
        "nav.ingestion": {"id": "Ingesti", "en": "Ingestion"},
        "ingest.title": {"id": "Kesehatan Ingesti Kamera", "en": "Camera Ingestion Health"},
        "ingest.lead": {
            "id": "Seberapa tepat waktu sampel kamera diambil, hasilnya, proses pekerja dan "
            "memorinya, serta kamera yang bermasalah.",
            "en": "How punctually camera samples are taken, their outcomes, the worker "
            "processes and their memory, and the cameras in trouble.",
        },
        "ingest.tile.p50": {"id": "Keterlambatan p50", "en": "Lateness p50"},
        "ingest.tile.p95": {"id": "Keterlambatan p95", "en": "Lateness p95"},
        "ingest.tile.stored": {"id": "Sampel tersimpan", "en": "Samples stored"},
        "ingest.tile.failed": {"id": "Sampel gagal", "en": "Samples failed"},
        "ingest.tile.queue": {"id": "Antrean", "en": "Queued"},
        "ingest.tile.rss": {"id": "Memori proses (RSS)", "en": "Process memory (RSS)"},
        "ingest.unit.per_min": {"id": "/menit", "en": "/min"},
        "ingest.unit.samples": {"id": "sampel", "en": "samples"},
        "ingest.unit.samples_per_min": {"id": "sampel/menit", "en": "samples/min"},
        "ingest.window": {"id": "{n} menit s.d. {time}", "en": "{n} min to {time}"},
        "ingest.total_since": {"id": "total {n} · {time}", "en": "total {n} · {time}"},
        "ingest.queue_sub": {
            "id": "diproses {inflight} · tunggu tulis {backlog} · {time}",
            "en": "in flight {inflight} · to write {backlog} · {time}",
        },
        "ingest.rss_sub": {
            "id": "{n} proses · restart {restarts} · {time}",
            "en": "{n} processes · restarts {restarts} · {time}",
        },
        "ingest.outcomes": {
            "id": "Sampel per menit menurut hasil (15 menit)",
            "en": "Samples per minute by outcome (15 min)",
        },
        "ingest.outcome.stored": {"id": "Tersimpan", "en": "Stored"},
        "ingest.outcome.failed": {"id": "Gagal", "en": "Failed"},
        "ingest.outcome.expired": {"id": "Kedaluwarsa", "en": "Expired"},
        "ingest.outcome.late": {"id": "Terlambat", "en": "Late"},
        "ingest.processes": {"id": "Proses ingesti", "en": "Ingestion processes"},
        "ingest.statuses": {"id": "Kamera menurut status", "en": "Cameras by status"},
        "ingest.reasons": {
            "id": "Kamera bermasalah menurut penyebab",
            "en": "Failing cameras by reason",
        },
        "ingest.failing": {"id": "Paling lama bermasalah", "en": "Failing longest"},
        "ingest.col.role": {"id": "Peran", "en": "Role"},
        "ingest.col.pid": {"id": "PID", "en": "PID"},
        "ingest.col.host": {"id": "Host", "en": "Host"},
        "ingest.col.rss": {"id": "Memori", "en": "Memory"},
        "ingest.col.heartbeat": {"id": "Detak terakhir", "en": "Last heartbeat"},
        "ingest.col.reason": {"id": "Penyebab", "en": "Reason"},
        "ingest.col.cameras": {"id": "Kamera", "en": "Cameras"},
        "ingest.col.offline": {"id": "Offline", "en": "Offline"},
        "ingest.col.since": {"id": "Sejak", "en": "Since"},
        "ingest.col.examples": {"id": "Contoh", "en": "Examples"},
        "ingest.col.camera": {"id": "Kamera", "en": "Camera"},
        "ingest.col.status": {"id": "Status", "en": "Status"},
        "ingest.col.for": {"id": "Lamanya", "en": "For"},
        "ingest.role.supervisor": {"id": "Supervisor", "en": "Supervisor"},
        "ingest.role.worker": {"id": "Pekerja", "en": "Worker"},
        "ingest.role.celery-worker": {"id": "Pekerja Celery", "en": "Celery worker"},
        "ingest.role.scheduler": {"id": "Penjadwal", "en": "Scheduler"},
        "ingest.ago_s": {"id": "{n} dtk lalu", "en": "{n} s ago"},
        "ingest.ago_min": {"id": "{n} mnt lalu", "en": "{n} min ago"},
        "ingest.ago_h": {"id": "{n} jam lalu", "en": "{n} h ago"},
        "ingest.ago_d": {"id": "{n} hari lalu", "en": "{n} days ago"},
        "ingest.more": {"id": "… dan {n} lagi", "en": "… and {n} more"},
        "ingest.cameras_total": {
            "id": "{n} kamera terdaftar · {time}",
            "en": "{n} cameras registered · {time}",
        },
        "ingest.no_failing": {
            "id": "Tidak ada kamera yang terganggu atau offline.",
            "en": "No camera is degraded or offline.",
        },
        "ingest.no_processes": {
            "id": "Tidak ada proses ingesti yang melapor.",
            "en": "No ingestion process is reporting.",
        },
        "ingest.no_samples": {
            "id": "Belum ada sampel dalam 15 menit terakhir.",
            "en": "No samples in the last 15 minutes.",
        },
        "ingest.src.local": {
            "id": "Sumber: pool lokal (var/ingest_metrics.json, {time})",
            "en": "Source: local pool (var/ingest_metrics.json, {time})",
        },
        "ingest.src.local_stale": {
            "id": "Pool lokal tidak melapor sejak {time}: apakah `pantau ingest` / `pantau run` "
            "masih berjalan?",
            "en": "The local pool has not reported since {time}: is `pantau ingest` / `pantau "
            "run` still running?",
        },
        "ingest.src.celery": {
            "id": "Sumber: pekerja Celery (Redis)",
            "en": "Source: Celery workers (Redis)",
        },
        "ingest.src.none": {
            "id": "Belum ada ingesti yang melapor. Jalankan `pantau run`, `pantau ingest` atau "
            "pekerja Celery (`pantau worker`); status kamera di bawah berasal dari basis data.",
            "en": "No ingestion is reporting yet. Start `pantau run`, `pantau ingest` or Celery "
            "workers (`pantau worker`); the camera statuses below come from the database.",
        },
    }
)


def layout(**_kwargs) -> dbc.Container:
    cfg = context.settings()
    return dbc.Container(
        [
            page_header(
                t("ingest.title"),
                t("ingest.lead"),
                right=html.Div(
                    [
                        html.Div(id="admin-ingestion-source"),
                        html.Div(id="admin-ingestion-updated", className="pantau-footnote"),
                    ],
                    className="text-md-end",
                    style={"maxWidth": "40rem"},
                ),
                page="admin-ingestion",
            ),
            dbc.Row(id="admin-ingestion-tiles", className="g-2"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            card(
                                t("ingest.outcomes"),
                                graph("admin-ingestion-outcomes", height=200, modebar=False),
                                fill=False,
                                className="mb-2",
                            ),
                            card(
                                t("ingest.reasons"),
                                html.Div(id="admin-ingestion-reasons"),
                                fill=False,
                                className="mb-2",
                            ),
                        ],
                        lg=7,
                    ),
                    dbc.Col(
                        [
                            card(
                                t("ingest.processes"),
                                html.Div(id="admin-ingestion-processes"),
                                fill=False,
                                className="mb-2",
                            ),
                            card(
                                t("ingest.statuses"),
                                html.Div(id="admin-ingestion-statuses"),
                                fill=False,
                                className="mb-2",
                            ),
                            card(
                                t("ingest.failing"),
                                html.Div(id="admin-ingestion-failing"),
                                fill=False,
                                className="mb-2",
                            ),
                        ],
                        lg=5,
                    ),
                ],
                className="g-3 mt-0",
            ),
            dcc.Interval(id="admin-ingestion-interval", interval=cfg.refresh_seconds * 1000),
        ],
        fluid=True,
        className="pb-2",
        id="admin-ingestion-page",
    )
