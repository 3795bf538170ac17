"""Notifications that leave Pantau: the dispatcher that delivers the outbox (``store.outbox``)
and the channels it delivers through (signed webhooks, MQTT, e-mail, templated HTTP calls)."""
