"""Property-based test of ``/api/openapi.json`` against a live server (schemathesis).

A real Pantau app (reference data seeded, every machine API key configured, rate limits off)
is served by waitress on a loopback port in 18500-18599, on SQLite and on PostgreSQL. The
document is loaded from the server itself, then for every operation schemathesis generates
requests that fit the document (positive) and requests that break it (negative), sends them
over HTTP and checks every answer: never a 5xx, the status code is documented, the content type
is documented, the headers and the body match the documented schemas, and requests that break
the document are refused, Open311's XML answers parse (tests/dashboard/openapi_checks.py).
The phases: the document's examples, schemathesis' coverage cases (boundaries, missing and
wrong-typed fields), fuzzing, and stateful sequences along the document's links (a report
created, then read by its tracking ID). Deterministic (``--generation-deterministic``), a
bounded number of examples.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pantau.settings import Settings
from store.db import Database

OPEN311_KEY = "openapi-open311-key"
SENSOR_KEY = "openapi-sensor-key"
SMS_TOKEN = "openapi-sms-token"
METRICS_TOKEN = "openapi-metrics-token"
PORTS = range(18500, 18600)
#: Examples per operation and generation mode: enough to reach the code behind validation,
#: bounded so a database's run stays well under a minute on a loaded 2-core machine.
EXAMPLES = 10
SEED = 20261129
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "unsupported_method",
    "xml_is_well_formed",  # tests/dashboard/openapi_checks.py
]
HOOKS = Path(__file__).resolve().with_name("openapi_checks.py")


def free_port_in_range() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@dataclass
class Live:
    url: str
    app: object
    db: Database
    agency_key: str  # a per-agency key for /api/v1 (every OPD's indicators, every source)


@contextmanager
def live_app(settings: Settings, db: Database) -> Iterator[Live]:
    from waitress.server import create_server

    from dashboard.app import create_app
    from store.api_keys import create_key
    from store.seed import seed_reference

    with db.session() as s:
        seed_reference(s)
        _, agency_key = create_key(s, "openapi-test", ["indicators:*", "incidents:*"])
    app = create_app(settings, db)
    port = free_port_in_range()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    try:
        yield Live(f"http://127.0.0.1:{port}", app, db, agency_key)
    finally:
        server.close()


def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update=dict(
            open311_api_keys=OPEN311_KEY,
            sensor_api_keys=SENSOR_KEY,
            sms_webhook_token=SMS_TOKEN,
            metrics_token=METRICS_TOKEN,
            complaint_submit_limit=0,
            complaint_lookup_limit=0,
            sensor_rate_limit=0,
            api_key_rate_limit=0,
        )
    )


CONFIG_TOML = """
[auth.openapi.open311ApiKey]
api_key = "{open311}"
[auth.openapi.sensorBearer]
bearer = "{sensor}"
[auth.openapi.smsToken]
api_key = "{sms}"
[auth.openapi.metricsBearer]
bearer = "{metrics}"
[auth.openapi.agencyBearer]
bearer = "{agency}"

[checks.negative_data_rejection]
# a request that breaks the document must be refused: 413 (too large) refuses it too
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
"""


def run_schemathesis(live: Live, workdir: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """``st run`` (schemathesis' own runner: examples, coverage and fuzzing phases) against the
    live server; returns the process and its JSON report."""
    config = workdir / "schemathesis.toml"
    config.write_text(
        CONFIG_TOML.format(
            open311=OPEN311_KEY,
            sensor=SENSOR_KEY,
            sms=SMS_TOKEN,
            metrics=METRICS_TOKEN,
            agency=live.agency_key,
        )
    )
    report = workdir / "report.json"
    cmd = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{live.url}/api/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-deterministic",
        "--no-shrink",
        "--continue-on-failure",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        "--output-truncate",
        "false",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=workdir, env=env)
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc, data


def test_every_operation_conforms_to_the_document(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with live_app(api_settings(settings), db) as live:
        proc, report = run_schemathesis(live, tmp_path)
    output = "\n".join(line[:400] for line in (proc.stdout + proc.stderr).splitlines())
    assert proc.returncode == 0, output[-30000:]
    ops = report["operations"]
    assert report["complete"] and ops["errored"] == 0
    assert ops["tested"] == ops["selected"] == ops["total"] >= 19  # every operation ran
    assert report["test_cases"]["generated"] >= ops["total"] * EXAMPLES
    # the run got past validation into the stores: reports and requests were created
    created = ("POST /api/lapor", "POST /open311/v2/requests.{format}", "POST /api/sms")
    for label in (*created, "POST /api/v1/incidents"):
        rates = report["valid_rates"][label]
        assert sum(phase["accepted"] for phase in rates.values()) > 0, (label, rates)
