"""Alert rules as data (``alert_rules``) and the engine that applies them where data arrives.

``schema``: one validated model per kind; ``catalog``: the rules in the database (seeded from
``data/alert_rules.json``); ``engine``: open / escalate / close with minimum duration,
hysteresis, cooldown and one open alert per deduplication key; ``text``: level words and the
one place values are formatted; ``surge`` and ``cluster``: the complaint and incident kinds.
Camera and sensor kinds are applied by ``ingestion.alerts``.
"""
