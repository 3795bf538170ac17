"""The default MQTT client id is unique per installation: two instances on one host and broker
must not share a persistent session (they would take it over from each other), while one
instance keeps its id (and its session and spool) across restarts."""

from __future__ import annotations

import socket
from pathlib import Path

from ingestion.sensors import SensorSubscriber
from pantau.settings import Settings


def _settings(var_dir: Path, **kw) -> Settings:
    return Settings(var_dir=var_dir, database_url="", secret_key="t", **kw)


def test_two_var_dirs_on_one_host_get_different_ids(tmp_path):
    a = _settings(tmp_path / "a").resolved_mqtt_client_id()
    b = _settings(tmp_path / "b").resolved_mqtt_client_id()
    assert a != b
    host = socket.gethostname()
    assert a.startswith(f"pantau-sensors-{host}-") and b.startswith(f"pantau-sensors-{host}-")


def test_same_var_dir_gives_the_same_id_across_restarts(tmp_path, monkeypatch):
    (tmp_path / "var").mkdir()
    first = _settings(tmp_path / "var").resolved_mqtt_client_id()
    again = _settings(tmp_path / "var").resolved_mqtt_client_id()
    monkeypatch.chdir(tmp_path)  # the same folder spelled relatively
    relative = _settings(Path("var")).resolved_mqtt_client_id()
    assert first == again == relative


def test_explicit_client_id_wins(tmp_path):
    s = _settings(tmp_path / "a", mqtt_client_id="gateway-7")
    assert s.resolved_mqtt_client_id() == "gateway-7"


def test_subscriber_uses_the_per_instance_default_and_takes_over_the_old_spool(tmp_path, sqlite_db):
    a, b = _settings(tmp_path / "a"), _settings(tmp_path / "b")
    # a spool written by the previous default id, pantau-sensors-<hostname>
    legacy = tmp_path / "a" / "sensors" / f"pantau-sensors-{socket.gethostname()}.spool"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"")
    sub_a = SensorSubscriber(a, sqlite_db)
    sub_b = SensorSubscriber(b, sqlite_db)
    try:
        assert sub_a.client_id != sub_b.client_id
        assert sub_a.client_id == a.resolved_mqtt_client_id()
        assert not legacy.exists()
        assert (tmp_path / "a" / "sensors" / f"{sub_a.client_id}.spool").exists()
    finally:
        for sub in (sub_a, sub_b):
            sub.spool.close()
