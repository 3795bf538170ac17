"""`pantau rules list / export / validate / import`: a bad file is refused with every
problem named and changes nothing; a good one imports (new, changed, unchanged)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pantau.cli import app

runner = CliRunner()


def test_rules_cli(tmp_path, monkeypatch):
    from pantau import settings as settings_module

    monkeypatch.setenv("PANTAU_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    settings_module.get_settings.cache_clear()
    try:
        res = runner.invoke(app, ["rules", "list"])
        assert res.exit_code == 0, res.output
        assert "banjir-kota" in res.output and "waspada ≥ 25 %" in res.output
        out = tmp_path / "rules.json"
        assert runner.invoke(app, ["rules", "export", str(out)]).exit_code == 0
        data = json.loads(out.read_text())
        flood = next(r for r in data["rules"] if r["name"] == "banjir-kota")
        flood["cooldown_s"] = 1200
        bad = json.loads(json.dumps(data))
        bad["rules"][0]["cooldown_s"] = -5
        bad["rules"][1]["title"] = "{__import__}"
        bad_file = tmp_path / "bad.json"
        bad_file.write_text(json.dumps(bad))
        res = runner.invoke(app, ["rules", "import", str(bad_file)])
        assert res.exit_code == 1
        flat = " ".join(res.output.split())
        assert "cooldown_s: Input should be greater than or equal to 0" in flat
        assert "unknown placeholder {__import__}" in flat and "nothing was changed" in flat
        out.write_text(json.dumps(data))
        res = runner.invoke(app, ["rules", "import", str(out)])
        unchanged = len(data["rules"]) - 1  # every exported rule but the edited one
        assert res.exit_code == 0 and f"0 inserted, 1 updated, {unchanged} unchanged" in res.output
        assert runner.invoke(app, ["rules", "validate", str(out)]).exit_code == 0
    finally:
        settings_module.get_settings.cache_clear()
