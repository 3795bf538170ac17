"""Demo history of the alert workflow: past alerts worked through by operators, so the alert
list, an alert's timeline and the response-times page have something to show on a demo.

Each demo alert opened on a camera, was acknowledged after a few minutes, often assigned to the
OPD of its kind, had some SOP steps ticked, cleared and was resolved with an outcome — all
through ``store.alert_workflow`` (so the timeline is the real one). Deterministic for a seed;
every row is ``is_demo`` (never notified, removed by ``clear_demo``). Operators' names are
demo names, not accounts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import alert_workflow as wf
from store.alert_sop import steps_for
from store.models import Alert, AlertSeverity, Camera, Opd

OPERATORS = ("operator.rina", "operator.budi", "operator.sari")
#: kind -> (OPD codes it goes to, median minutes to resolve, share assigned)
KINDS = {
    "flood_coverage": (("BPBD", "PUPR"), 70.0, 0.8),
    "crowd_density": (("SATPOLPP", "POLRESTA"), 25.0, 0.6),
    "camera_offline": (("DISKOMINFO",), 150.0, 0.7),
}
OUTCOMES = {
    "flood_coverage": (("handled", 0.6), ("referred", 0.2), ("monitored", 0.2)),
    "crowd_density": (("monitored", 0.5), ("handled", 0.3), ("false_alarm", 0.2)),
    "camera_offline": (("equipment", 0.8), ("monitored", 0.2)),
}
TITLES = {
    "flood_coverage": "Genangan {pct}% di {name}",
    "crowd_density": "Kerumunan di atas biasa di {name}",
    "camera_offline": "Kamera {name} offline",
}


def seed_alert_history(
    session: Session, end: datetime, days: int, seed: int, per_day: float = 1.5
) -> int:
    """Past, resolved demo alerts over the ``days`` (at most 30) before ``end``."""
    rng = np.random.default_rng(seed + 1212)
    cameras = list(
        session.scalars(select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.code))
    )
    opds = {o.code: o.id for o in session.scalars(select(Opd))}
    if not cameras:
        return 0
    span = min(days, 30)
    n = int(round(span * per_day))
    kinds = list(KINDS)
    made = 0
    for _ in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=[0.45, 0.35, 0.2]))]
        cam = cameras[int(rng.integers(len(cameras)))]
        # between 1 and span days ago, during the day (06-22 WIB)
        day = int(rng.integers(1, span + 1))
        start = (end - timedelta(days=day)).replace(minute=0, second=0, microsecond=0)
        start = start.replace(hour=int(rng.integers(23, 39)) % 24) + timedelta(
            minutes=int(rng.integers(60))
        )
        if start >= end - timedelta(hours=6):
            continue
        value = round(float(rng.uniform(0.3, 0.8)), 2) if kind == "flood_coverage" else None
        critical = kind == "flood_coverage" and value is not None and value >= 0.5
        alert = Alert(
            rule=kind,
            severity=AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING,
            subject_type="camera",
            subject_id=cam.code,
            camera_id=cam.id,
            title=TITLES[kind].format(pct=round((value or 0) * 100), name=cam.name)[:300],
            value=value if kind != "crowd_density" else float(rng.integers(25, 80)),
            started_at=start,
            is_demo=True,
        )
        session.add(alert)
        session.flush()
        who = wf.Actor(OPERATORS[int(rng.integers(len(OPERATORS)))], "operator")
        ack = start + timedelta(minutes=min(float(rng.lognormal(np.log(4.0), 0.6)), 20.0))
        wf.acknowledge(session, alert.id, who, now=ack)
        codes, resolve_median, share = KINDS[kind]
        t = ack
        if rng.random() < share:
            code = codes[int(rng.integers(len(codes)))]
            if code in opds:
                t = ack + timedelta(minutes=float(rng.uniform(1, 6)))
                wf.assign(session, alert.id, who, opd_id=opds[code], now=t)
        steps = steps_for(session, kind)
        for step in steps[: int(rng.integers(1, len(steps) + 1))]:
            t = t + timedelta(minutes=float(rng.uniform(1, 8)))
            wf.tick_step(session, alert.id, who, step.key, now=t)
        minutes = min(float(rng.lognormal(np.log(resolve_median), 0.5)), 4 * resolve_median)
        done = start + timedelta(minutes=minutes)
        done = max(done, t + timedelta(minutes=2))
        alert.ended_at = max(
            start + timedelta(minutes=1), done - timedelta(minutes=float(rng.uniform(0, 10)))
        )
        session.flush()
        outcome_names = [o for o, _ in OUTCOMES[kind]]
        weights = [w for _, w in OUTCOMES[kind]]
        outcome = outcome_names[int(rng.choice(len(outcome_names), p=weights))]
        wf.resolve(session, alert.id, who, outcome, now=done)
        made += 1
    return made
