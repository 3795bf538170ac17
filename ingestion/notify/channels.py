"""Channel implementations: how one outbox message is delivered, and channel validation.

* **webhook** -- ``POST`` of the message's JSON (UTF-8, keys sorted: the same bytes on every
  retry) with ``X-Pantau-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (key: the
  channel's ``secret`` or ``PANTAU_NOTIFY_WEBHOOK_SECRET``), ``X-Pantau-Delivery: <id>`` and
  ``X-Pantau-Event``. Any 2xx acknowledges; redirects are not followed.
* **http** -- a templated call (Telegram bot ``sendMessage``, a WhatsApp gateway): the URL and
  body templates of :mod:`ingestion.notify.templates`, ``X-Pantau-Delivery`` too.
* **mqtt** -- the same JSON published with QoS 1; the broker's PUBACK acknowledges.
* **email** -- a plain-text e-mail over SMTP (``PANTAU_NOTIFY_SMTP_*``) with
  ``Message-ID: <delivery id@pantau>`` and ``X-Pantau-Delivery``; the server's 250 acknowledges.

Webhook and HTTP targets pass :class:`ingestion.notify.targets.TargetPolicy` when saved and
again before each call. A failure raises :class:`DeliveryError`; ``permanent`` ones (a refused
target, a 4xx answer, a bad template) go straight to dead letter, the others are retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlparse

import httpx

from ingestion.notify import templates
from ingestion.notify.targets import TargetPolicy, TargetRefused
from store.models import ChannelKind

logger = logging.getLogger(__name__)

USER_AGENT = "Pantau-Notify/1"
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_TOPIC = re.compile(r"^[^#+\x00]{1,200}$")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ChannelConfigError(ValueError):
    """A channel configuration that cannot work (the message says what to fix)."""


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The JSON body of a message: sorted keys, UTF-8, no spaces (stable across retries)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- validation (admin page, seeding) ----------------------------------------------------------
def check_config(
    kind: str, config: dict[str, Any], settings: Any, policy: TargetPolicy | None = None
) -> dict[str, Any]:
    """The channel's config, cleaned; :class:`ChannelConfigError` naming what is wrong."""
    policy = policy or TargetPolicy.from_settings(settings)
    cfg = {k: v for k, v in config.items() if v not in (None, "")}
    try:
        if kind == ChannelKind.WEBHOOK:
            url = str(cfg.get("url", "")).strip()
            policy.check(url)
            out = {"url": url}
            if cfg.get("secret"):
                out["secret"] = str(cfg["secret"])
            return _keep_env(cfg, out)
        if kind == ChannelKind.HTTP:
            url_t = str(cfg.get("url_template", "")).strip()
            body_t = str(cfg.get("body_template", ""))
            ctype = str(cfg.get("content_type") or "application/json")
            if ctype not in templates.CONTENT_TYPES:
                raise ChannelConfigError(
                    f"content type {ctype!r}: one of {', '.join(templates.CONTENT_TYPES)}"
                )
            if not url_t:
                raise ChannelConfigError("an HTTP channel needs a URL template")
            templates.check(url_t, "URL template")
            templates.check(body_t, "body template")
            if "$" in (urlparse(url_t.replace("$$", "")).netloc or ""):
                raise ChannelConfigError("the URL template's host cannot contain a $field")
            sample = templates.sample_fields()
            policy.check(templates.render_url(url_t, sample))
            if body_t and ctype in templates.JSON_TYPES:
                rendered = templates.render(body_t, sample, templates.escaper(ctype))
                try:
                    json.loads(rendered)
                except ValueError as exc:
                    raise ChannelConfigError(
                        f"the body template does not give JSON ({exc}); put fields inside "
                        'quotes, e.g. {"text": "$text"}'
                    ) from None
            out = {"url_template": url_t, "body_template": body_t, "content_type": ctype}
            return _keep_env(cfg, out)
        if kind == ChannelKind.MQTT:
            topic = str(cfg.get("topic", "")).strip()
            if not _TOPIC.match(topic):
                raise ChannelConfigError(
                    "an MQTT topic of 1 to 200 characters without wildcards (+, #) is required"
                )
            return _keep_env(cfg, {"topic": topic})
        if kind == ChannelKind.EMAIL:
            raw = cfg.get("to", "")
            items = raw if isinstance(raw, list) else str(raw).replace(";", ",").split(",")
            to = [str(a).strip() for a in items if str(a).strip()]
            bad = [a for a in to if not _EMAIL.match(a)]
            if not to or bad:
                raise ChannelConfigError(
                    "e-mail addresses separated by commas are required"
                    + (f"; not an address: {', '.join(bad)}" if bad else "")
                )
            if not settings.notify_smtp_host:
                raise ChannelConfigError("set PANTAU_NOTIFY_SMTP_HOST to send e-mail")
            return _keep_env(cfg, {"to": to})
    except (TargetRefused, templates.TemplateError) as exc:
        raise ChannelConfigError(str(exc)) from None
    raise ChannelConfigError(f"unknown channel kind {kind!r}")


def _keep_env(cfg: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    if cfg.get("env"):
        out["env"] = cfg["env"]
    return out


def describe_target(kind: str, config: dict[str, Any]) -> str:
    """One line for the admin page (secrets and tokens left out)."""
    if kind == ChannelKind.WEBHOOK:
        return str(config.get("url", ""))
    if kind == ChannelKind.HTTP:
        u = urlparse(str(config.get("url_template", "")))
        return f"{u.scheme}://{u.netloc}/…"
    if kind == ChannelKind.MQTT:
        return str(config.get("topic", ""))
    if kind == ChannelKind.EMAIL:
        return ", ".join(config.get("to") or [])
    return ""


# -- senders -----------------------------------------------------------------------------------
class Senders:
    """The channel implementations of one dispatcher (one HTTP client, one MQTT connection
    per broker, SMTP per message)."""

    def __init__(self, settings: Any, *, mqtt_client_id: str, policy: TargetPolicy | None = None):
        self.settings = settings
        self.policy = policy or TargetPolicy.from_settings(settings)
        self.http = httpx.Client(
            timeout=httpx.Timeout(settings.notify_timeout_s),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.mqtt_client_id = mqtt_client_id
        self._mqtt: Any = None
        self._mqtt_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()
        with self._mqtt_lock:
            if self._mqtt is not None:
                self._mqtt.loop_stop()
                self._mqtt.disconnect()
                self._mqtt = None

    def send(self, kind: str, config: dict[str, Any], msg: Any) -> str:
        """Deliver one claimed message; returns a short note for the log. Raises
        :class:`DeliveryError`."""
        if kind == ChannelKind.WEBHOOK:
            return self.webhook(config, msg)
        if kind == ChannelKind.HTTP:
            return self.http_template(config, msg)
        if kind == ChannelKind.MQTT:
            return self.mqtt(config, msg)
        if kind == ChannelKind.EMAIL:
            return self.email(config, msg)
        raise DeliveryError(f"unknown channel kind {kind!r}", permanent=True)

    # webhook / http ---------------------------------------------------------------------------
    def _check(self, url: str) -> None:
        try:
            self.policy.check(url)
        except TargetRefused as exc:
            raise DeliveryError(f"target refused: {exc}", permanent=True) from None

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> str:
        try:
            resp = self.http.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"timeout after {self.settings.notify_timeout_s:g} s: {exc}"
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        code = resp.status_code
        if 200 <= code < 300:
            return f"HTTP {code}"
        detail = resp.text[:200].strip()
        message = f"HTTP {code}" + (f": {detail}" if detail else "")
        if 300 <= code < 400:
            raise DeliveryError(message + " (redirects are not followed)", permanent=True)
        permanent = 400 <= code < 500 and code not in (408, 425, 429)
        raise DeliveryError(message, permanent=permanent)

    def webhook(self, config: dict[str, Any], msg: Any) -> str:
        url = str(config.get("url", ""))
        self._check(url)
        body = body_bytes(msg.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Pantau-Delivery": msg.delivery_id,
            "X-Pantau-Event": msg.event_type,
        }
        secret = config.get("secret") or self.settings.notify_webhook_secret
        if secret:
            headers["X-Pantau-Signature"] = signature(secret, body)
        return self._post(url, body, headers)

    def http_template(self, config: dict[str, Any], msg: Any) -> str:
        fields = templates.values(msg.payload)
        ctype = str(config.get("content_type") or "application/json")
        try:
            templates.check(str(config.get("url_template", "")), "URL template")
            templates.check(str(config.get("body_template", "")), "body template")
        except templates.TemplateError as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        url = templates.render_url(str(config["url_template"]), fields)
        self._check(url)
        body = templates.render(
            str(config.get("body_template", "")), fields, templates.escaper(ctype)
        ).encode()
        headers = {"Content-Type": f"{ctype}; charset=utf-8", "X-Pantau-Delivery": msg.delivery_id}
        return self._post(url, body, headers)

    # mqtt -------------------------------------------------------------------------------------
    def _mqtt_client(self) -> Any:
        import paho.mqtt.client as mqtt

        if self._mqtt is not None and self._mqtt.is_connected():
            return self._mqtt
        if self._mqtt is not None:
            self._mqtt.loop_stop()
            self._mqtt = None
        url = urlparse(self.settings.notify_mqtt_url or self.settings.mqtt_url)
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.mqtt_client_id, clean_session=True
        )
        if url.username:
            client.username_pw_set(url.username, url.password)
        if url.scheme == "mqtts":
            client.tls_set()
        connected = threading.Event()
        client.on_connect = lambda *a, **k: connected.set()
        port = url.port or (8883 if url.scheme == "mqtts" else 1883)
        try:
            client.connect(url.hostname or "127.0.0.1", port, keepalive=30)
        except OSError as exc:
            raise DeliveryError(f"MQTT broker {url.hostname}:{port} unreachable: {exc}") from None
        client.loop_start()
        if not connected.wait(self.settings.notify_timeout_s):
            client.loop_stop()
            raise DeliveryError(f"MQTT broker {url.hostname}:{port}: no CONNACK")
        self._mqtt = client
        return client

    def mqtt(self, config: dict[str, Any], msg: Any) -> str:
        with self._mqtt_lock:
            client = self._mqtt_client()
            info = client.publish(str(config["topic"]), body_bytes(msg.payload), qos=1)
            try:
                info.wait_for_publish(self.settings.notify_timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise DeliveryError(f"MQTT publish failed: {exc}") from None
            if not info.is_published():
                client.loop_stop()
                self._mqtt = None
                raise DeliveryError("MQTT publish not acknowledged (no PUBACK) in time")
        return f"MQTT {config['topic']}"

    # email ------------------------------------------------------------------------------------
    def email(self, config: dict[str, Any], msg: Any) -> str:
        s = self.settings
        if not s.notify_smtp_host:
            raise DeliveryError("PANTAU_NOTIFY_SMTP_HOST is not set", permanent=True)
        to = list(config.get("to") or [])
        mail = EmailMessage()
        mail["Subject"] = str(msg.payload.get("title") or msg.event_type)[:200]
        mail["From"] = s.notify_email_from
        mail["To"] = ", ".join(to)
        mail["Date"] = formatdate(localtime=False)
        domain = s.notify_email_from.rsplit("@", 1)[-1] or "pantau"
        mail["Message-ID"] = f"<{msg.delivery_id}@{domain}>"
        mail["X-Pantau-Delivery"] = msg.delivery_id
        mail["X-Pantau-Event"] = msg.event_type
        text = str(msg.payload.get("text") or "")
        mail.set_content(text + f"\n\n--\nID pengiriman: {msg.delivery_id}\n")
        timeout = s.notify_timeout_s
        try:
            if s.notify_smtp_security == "ssl":
                ctx = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.notify_smtp_host, s.notify_smtp_port, timeout=timeout, context=ctx
                )
            else:
                smtp = smtplib.SMTP(s.notify_smtp_host, s.notify_smtp_port, timeout=timeout)
            with smtp:
                if s.notify_smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.notify_smtp_user:
                    smtp.login(s.notify_smtp_user, s.notify_smtp_password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused every recipient: {exc}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {s.notify_smtp_host}:{s.notify_smtp_port}: {exc}") from None
        if refused:
            logger.warning("SMTP refused some recipients of %s: %s", msg.delivery_id, refused)
        return f"SMTP {len(to) - len(refused)} recipient(s)"
