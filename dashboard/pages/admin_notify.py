"""Notifications (``/admin/notifikasi``, admins only): the channels (webhook, MQTT, e-mail,
HTTP templates) with their routing and quiet hours, a "send a test" button per channel, the
outbox by status and the dead letters with a retry button."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.components import card, page_header
from dashboard.i18n import register, t

dash.register_page(
    __name__,
    path="/admin/notifikasi",
    title="Notifikasi — Pantau",
    order=98,
    nav_key="nav.notify",
    nav_group="admin",
    icon="bi-send",
    roles=("admin",),
    id_prefix="admin-notify",
    write_ids=("admin-notify",),
    write_roles=("admin",),
)

EVENTS = (
    "alert.opened",
    "alert.escalated",
    "alert.deescalated",
    "alert.closed",
    "alert.status",
    "alert.assigned",
    "briefing.*",
)
RULES = (
    "*",
    "flood_coverage",
    "crowd_density",
    "camera_offline",
    "sensor_level",
    "complaint_surge",
    "incident_cluster",
    "vehicle_dwell",
    "racing",
    "illegal_dumping",
)

register(
    {
        "nav.notify": {"id": "Notifikasi", "en": "Notifications"},
        "notify.title": {"id": "Notifikasi Keluar", "en": "Outgoing Notifications"},
        "notify.lead": {
            "id": "Ke mana peringatan dikirim (webhook bertanda tangan, MQTT, e-mail, bot "
            "Telegram/WhatsApp), aturan pengirimannya, jam tenang, dan pesan yang gagal.",
            "en": "Where alerts are sent (signed webhooks, MQTT, e-mail, Telegram/WhatsApp "
            "bots), their routing, quiet hours, and the messages that failed.",
        },
        "notify.tile.pending": {"id": "Menunggu", "en": "Pending"},
        "notify.tile.delivering": {"id": "Sedang dikirim", "en": "Delivering"},
        "notify.tile.delivered": {"id": "Terkirim", "en": "Delivered"},
        "notify.tile.dead": {"id": "Gagal (dead letter)", "en": "Failed (dead letter)"},
        "notify.channels": {"id": "Kanal", "en": "Channels"},
        "notify.messages": {"id": "Pesan terakhir", "en": "Recent messages"},
        "notify.form.new": {"id": "Kanal baru", "en": "New channel"},
        "notify.form.edit": {"id": "Ubah kanal: {name}", "en": "Edit channel: {name}"},
        "notify.f.name": {"id": "Nama", "en": "Name"},
        "notify.f.kind": {"id": "Jenis", "en": "Kind"},
        "notify.f.target": {"id": "Tujuan", "en": "Target"},
        "notify.f.secret": {
            "id": "Kunci tanda tangan (kosong: PANTAU_NOTIFY_WEBHOOK_SECRET)",
            "en": "Signing key (empty: PANTAU_NOTIFY_WEBHOOK_SECRET)",
        },
        "notify.f.body": {"id": "Templat isi", "en": "Body template"},
        "notify.f.ctype": {"id": "Tipe isi", "en": "Content type"},
        "notify.f.rule": {"id": "Jenis aturan", "en": "Rule kind"},
        "notify.f.severity": {"id": "Tingkat minimum", "en": "Minimum severity"},
        "notify.f.events": {
            "id": "Peristiwa (kosong: semua)",
            "en": "Events (none ticked: all)",
        },
        "notify.f.quiet": {
            "id": "Jam tenang (waktu lokal; SIAGA tetap dikirim)",
            "en": "Quiet hours (local time; SIAGA still goes)",
        },
        "notify.f.enabled": {"id": "Aktif", "en": "Enabled"},
        "notify.save": {"id": "Simpan", "en": "Save"},
        "notify.new": {"id": "Baru", "en": "New"},
        "notify.delete": {"id": "Hapus", "en": "Delete"},
        "notify.test": {"id": "Kirim uji", "en": "Send a test"},
        "notify.edit": {"id": "Ubah", "en": "Edit"},
        "notify.retry": {"id": "Coba lagi", "en": "Retry"},
        "notify.retry_all": {"id": "Coba lagi semua yang gagal", "en": "Retry all failed"},
        "notify.filter": {"id": "Status", "en": "Status"},
        "notify.all": {"id": "Semua", "en": "All"},
        "notify.rule.*": {"id": "Semua jenis", "en": "Every kind"},
        "notify.rule.flood_coverage": {"id": "Genangan (kamera)", "en": "Flooding (camera)"},
        "notify.rule.crowd_density": {"id": "Kerumunan", "en": "Crowd"},
        "notify.rule.camera_offline": {"id": "Kamera mati", "en": "Camera offline"},
        "notify.rule.sensor_level": {"id": "Tinggi muka air", "en": "Water level"},
        "notify.rule.complaint_surge": {"id": "Lonjakan pengaduan", "en": "Complaint surge"},
        "notify.rule.incident_cluster": {
            "id": "Kejadian berkelompok",
            "en": "Incident cluster",
        },
        "notify.rule.vehicle_dwell": {"id": "Parkir liar", "en": "Illegal parking"},
        "notify.rule.racing": {"id": "Balap liar", "en": "Illegal racing"},
        "notify.rule.illegal_dumping": {"id": "Buang sampah liar", "en": "Illegal dumping"},
        "notify.rule_named": {"id": "Aturan: {name}", "en": "Rule: {name}"},
        "notify.sev.info": {"id": "Info", "en": "Info"},
        "notify.sev.warning": {"id": "Waspada", "en": "Warning (waspada)"},
        "notify.sev.critical": {"id": "Siaga", "en": "Critical (siaga)"},
        "notify.ev.alert.opened": {"id": "Peringatan baru", "en": "Alert opened"},
        "notify.ev.alert.escalated": {"id": "Naik tingkat", "en": "Escalated"},
        "notify.ev.alert.deescalated": {"id": "Turun tingkat", "en": "De-escalated"},
        "notify.ev.alert.closed": {"id": "Berakhir", "en": "Ended"},
        "notify.ev.alert.status": {"id": "Status berubah", "en": "Status changed"},
        "notify.ev.alert.assigned": {"id": "Ditugaskan", "en": "Assigned"},
        "notify.ev.briefing.*": {"id": "Laporan harian", "en": "Daily briefing"},
        "notify.kind.webhook": {"id": "Webhook (bertanda tangan)", "en": "Webhook (signed)"},
        "notify.kind.mqtt": {"id": "Topik MQTT", "en": "MQTT topic"},
        "notify.kind.email": {"id": "E-mail (SMTP)", "en": "E-mail (SMTP)"},
        "notify.kind.http": {
            "id": "HTTP bertemplat (Telegram/WhatsApp)",
            "en": "Templated HTTP (Telegram/WhatsApp)",
        },
        "notify.help.webhook": {
            "id": "URL https://… Isi JSON; header X-Pantau-Signature: sha256=<HMAC> dan "
            "X-Pantau-Delivery (kunci idempotensi).",
            "en": "An https://… URL. JSON body; headers X-Pantau-Signature: sha256=<HMAC> and "
            "X-Pantau-Delivery (idempotency key).",
        },
        "notify.help.mqtt": {
            "id": "Topik, mis. pantau/peringatan (QoS 1, broker PANTAU_NOTIFY_MQTT_URL).",
            "en": "A topic, e.g. pantau/alerts (QoS 1, broker PANTAU_NOTIFY_MQTT_URL).",
        },
        "notify.help.email": {
            "id": "Alamat e-mail dipisah koma (server PANTAU_NOTIFY_SMTP_HOST).",
            "en": "E-mail addresses separated by commas (server PANTAU_NOTIFY_SMTP_HOST).",
        },
        "notify.help.http": {
            "id": "Templat URL, mis. https://api.telegram.org/bot<token>/sendMessage. Isi: "
            '{"chat_id": "-100…", "text": "$text"}. Medan: $title $text $label $severity '
            "$level $rule $event $place $location $time $url $alert_id $delivery_id.",
            "en": "URL template, e.g. https://api.telegram.org/bot<token>/sendMessage. Body: "
            '{"chat_id": "-100…", "text": "$text"}. Fields: $title $text $label $severity '
            "$level $rule $event $place $location $time $url $alert_id $delivery_id.",
        },
        "notify.col.channel": {"id": "Kanal", "en": "Channel"},
        "notify.col.target": {"id": "Tujuan", "en": "Target"},
        "notify.col.route": {"id": "Rute", "en": "Routing"},
        "notify.col.quiet": {"id": "Jam tenang", "en": "Quiet hours"},
        "notify.col.last": {"id": "Terakhir", "en": "Last"},
        "notify.col.time": {"id": "Waktu", "en": "Time"},
        "notify.col.event": {"id": "Peristiwa", "en": "Event"},
        "notify.col.message": {"id": "Pesan", "en": "Message"},
        "notify.col.status": {"id": "Status", "en": "Status"},
        "notify.col.attempts": {"id": "Coba", "en": "Tries"},
        "notify.col.error": {"id": "Galat terakhir", "en": "Last error"},
        "notify.st.pending": {"id": "menunggu", "en": "pending"},
        "notify.st.delivering": {"id": "dikirim", "en": "delivering"},
        "notify.st.delivered": {"id": "terkirim", "en": "delivered"},
        "notify.st.dead": {"id": "gagal", "en": "dead"},
        "notify.held": {"id": "ditahan s.d. {time}", "en": "held until {time}"},
        "notify.next": {"id": "berikutnya {time}", "en": "next {time}"},
        "notify.env": {"id": "dari pengaturan", "en": "from settings"},
        "notify.off": {"id": "nonaktif", "en": "off"},
        "notify.unsigned": {"id": "tanpa tanda tangan", "en": "unsigned"},
        "notify.dead_n": {"id": "{n} gagal", "en": "{n} failed"},
        "notify.none": {
            "id": "Belum ada kanal. Tambahkan di kanan, atau atur PANTAU_NOTIFY_WEBHOOKS, "
            "PANTAU_NOTIFY_MQTT_TOPIC, PANTAU_NOTIFY_EMAIL_TO atau "
            "PANTAU_NOTIFY_HTTP_URL_TEMPLATE.",
            "en": "No channels yet. Add one on the right, or set PANTAU_NOTIFY_WEBHOOKS, "
            "PANTAU_NOTIFY_MQTT_TOPIC, PANTAU_NOTIFY_EMAIL_TO or "
            "PANTAU_NOTIFY_HTTP_URL_TEMPLATE.",
        },
        "notify.no_messages": {"id": "Belum ada pesan.", "en": "No messages yet."},
        "notify.saved": {"id": "Kanal {name} disimpan.", "en": "Channel {name} saved."},
        "notify.deleted": {"id": "Kanal {name} dihapus.", "en": "Channel {name} deleted."},
        "notify.tested": {
            "id": "Pesan uji untuk {name} masuk antrean (ID {id}).",
            "en": "Test message for {name} queued (ID {id}).",
        },
        "notify.retried": {
            "id": "{n} pesan gagal masuk antrean lagi.",
            "en": "{n} failed message(s) queued again.",
        },
        "notify.pick": {"id": "Pilih kanal dulu (Ubah).", "en": "Pick a channel first (Edit)."},
        "notify.error": {"id": "Tidak disimpan: {error}", "en": "Not saved: {error}"},
        "audit.a.notify_channel": {"id": "Kanal notifikasi", "en": "Notification channel"},
        "audit.a.notify_test": {"id": "Uji notifikasi", "en": "Notification test"},
        "audit.a.notify_retry": {"id": "Kirim ulang notifikasi", "en": "Notification retry"},
        "audit.s.notify_channel": {
            "id": "{user} mengubah kanal notifikasi {target}.",
            "en": "{user} changed the notification channel {target}.",
        },
        "audit.s.notify_test": {
            "id": "{user} mengirim pesan uji ke kanal {target}.",
            "en": "{user} sent a test message to the channel {target}.",
        },
        "audit.s.notify_retry": {
            "id": "{user} mengantrekan ulang notifikasi yang gagal ({target}).",
            "en": "{user} queued failed notifications again ({target}).",
        },
    }
)


def _options(prefix: str, values: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"label": t(f"{prefix}.{v}"), "value": v} for v in values]


def rule_options() -> list[dict[str, str]]:
    """Every rule kind, then each named rule of the rules page (``rule:<name>``)."""
    from dashboard.queries.notify import rule_names

    with context.db().session() as s:
        names = rule_names(s)
    return _options("notify.rule", RULES) + [
        {"label": t("notify.rule_named", name=n), "value": f"rule:{n}"} for n in names
    ]


def form_card() -> dbc.Card:
    field = {"className": "mb-2", "size": "sm"}
    return card(
        html.Span(t("notify.form.new"), id="admin-notify-form-title"),
        [
            dcc.Store(id="admin-notify-editing"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(t("notify.f.name"), html_for="admin-notify-name"),
                            dbc.Input(id="admin-notify-name", maxLength=100, **field),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(t("notify.f.kind"), html_for="admin-notify-kind"),
                            dbc.Select(
                                id="admin-notify-kind",
                                options=_options(
                                    "notify.kind", ("webhook", "mqtt", "email", "http")
                                ),
                                value="webhook",
                                **field,
                            ),
                        ],
                        md=6,
                    ),
                ],
                className="g-2",
            ),
            dbc.Label(t("notify.f.target"), html_for="admin-notify-target"),
            dbc.Input(id="admin-notify-target", maxLength=2048, **field),
            html.Div(
                t("notify.help.webhook"), id="admin-notify-help", className="pantau-footnote mb-2"
            ),
            html.Div(
                [
                    dbc.Label(t("notify.f.secret"), html_for="admin-notify-secret"),
                    dbc.Input(
                        id="admin-notify-secret",
                        type="password",
                        autocomplete="new-password",
                        maxLength=256,
                        **field,
                    ),
                ],
                id="admin-notify-secret-box",
            ),
            html.Div(
                [
                    dbc.Label(t("notify.f.body"), html_for="admin-notify-body"),
                    dbc.Textarea(
                        id="admin-notify-body", rows=2, maxLength=4000, className="mb-2 small"
                    ),
                    dbc.Label(t("notify.f.ctype"), html_for="admin-notify-ctype"),
                    dbc.Select(
                        id="admin-notify-ctype",
                        options=[
                            {"label": c, "value": c}
                            for c in (
                                "application/json",
                                "application/x-www-form-urlencoded",
                                "text/plain",
                            )
                        ],
                        value="application/json",
                        **field,
                    ),
                ],
                id="admin-notify-http-box",
                style={"display": "none"},
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(t("notify.f.rule"), html_for="admin-notify-rule"),
                            dbc.Select(
                                id="admin-notify-rule",
                                options=rule_options(),
                                value="*",
                                **field,
                            ),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(t("notify.f.severity"), html_for="admin-notify-severity"),
                            dbc.Select(
                                id="admin-notify-severity",
                                options=_options("notify.sev", ("info", "warning", "critical")),
                                value="warning",
                                **field,
                            ),
                        ],
                        md=6,
                    ),
                ],
                className="g-2",
            ),
            dbc.Label(t("notify.f.events")),
            dbc.Checklist(
                id="admin-notify-events",
                options=_options("notify.ev", EVENTS),
                value=[],
                inline=True,
                className="mb-2 small",
            ),
            dbc.Label(t("notify.f.quiet")),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id="admin-notify-quiet-start",
                            placeholder="22:00",
                            maxLength=5,
                            **field,
                        )
                    ),
                    dbc.Col(
                        dbc.Input(
                            id="admin-notify-quiet-end",
                            placeholder="06:00",
                            maxLength=5,
                            **field,
                        )
                    ),
                    dbc.Col(
                        dbc.Switch(
                            id="admin-notify-enabled", label=t("notify.f.enabled"), value=True
                        ),
                        className="pt-1",
                    ),
                ],
                className="g-2",
            ),
            html.Div(
                [
                    dbc.Button(
                        [html.I(className="bi bi-check2 me-1"), t("notify.save")],
                        id="admin-notify-save",
                        color="primary",
                        size="sm",
                        n_clicks=0,
                        className="me-2",
                    ),
                    dbc.Button(
                        t("notify.new"),
                        id="admin-notify-new",
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                        className="me-2",
                    ),
                    dbc.Button(
                        [html.I(className="bi bi-trash me-1"), t("notify.delete")],
                        id="admin-notify-delete",
                        color="danger",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    ),
                ],
                className="mt-1",
            ),
        ],
        fill=False,
        className="mb-2",
    )


def layout(**_kwargs) -> dbc.Container:
    cfg = context.settings()
    statuses = [{"label": t("notify.all"), "value": "all"}] + _options(
        "notify.st", ("pending", "delivering", "delivered", "dead")
    )
    return dbc.Container(
        [
            page_header(t("notify.title"), t("notify.lead"), page="admin-notify"),
            html.Div(id="admin-notify-feedback"),
            dcc.Store(id="admin-notify-changed", data=0),
            dbc.Row(id="admin-notify-tiles", className="g-2 mb-2"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            card(
                                t("notify.channels"),
                                html.Div(id="admin-notify-channels"),
                                fill=False,
                                className="mb-2",
                            ),
                            card(
                                html.Div(
                                    [
                                        html.Span(t("notify.messages"), className="me-auto"),
                                        dbc.Select(
                                            id="admin-notify-status",
                                            options=statuses,
                                            value="all",
                                            size="sm",
                                            style={"width": "9rem"},
                                            className="me-2",
                                        ),
                                        dbc.Button(
                                            [
                                                html.I(className="bi bi-arrow-repeat me-1"),
                                                t("notify.retry_all"),
                                            ],
                                            id="admin-notify-retry-all",
                                            color="warning",
                                            outline=True,
                                            size="sm",
                                            n_clicks=0,
                                        ),
                                    ],
                                    className="d-flex align-items-center flex-wrap gap-1",
                                ),
                                html.Div(
                                    id="admin-notify-messages",
                                    style={"maxHeight": "38vh", "overflowY": "auto"},
                                ),
                                fill=False,
                                className="mb-2",
                            ),
                        ],
                        lg=7,
                    ),
                    dbc.Col(form_card(), lg=5),
                ],
                className="g-3",
            ),
            dcc.Interval(id="admin-notify-interval", interval=cfg.refresh_seconds * 1000),
        ],
        fluid=True,
        className="pb-2",
        id="admin-notify-page",
    )
