"""CI and setup scripts wait for the dpkg/apt lock (a fresh machine runs unattended-upgrades
at boot; apt-get without a lock timeout fails at once with 'Could not get lock')."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fake_bin(tmp_path: Path) -> tuple[Path, Path]:
    """apt-get, dpkg-query, sudo and make that only record how they were called."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    scripts = {
        "apt-get": f'echo "apt-get $*" >> {log}\n',
        "dpkg-query": "exit 1\n",  # nothing installed: every package is missing
        "sudo": 'exec "$@"\n',
        "make": f'echo "make $*" >> {log}\n',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/usr/bin/env bash\n" + body)
        path.chmod(0o755)
    return bin_dir, log


def _apt_calls(tmp_path: Path, script: str) -> list[str]:
    bin_dir, log = _fake_bin(tmp_path)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(["bash", str(ROOT / script)], env=env, check=True, timeout=60, cwd=ROOT)
    return [line for line in log.read_text().splitlines() if line.startswith("apt-get")]


def test_setup_system_waits_for_the_dpkg_lock(tmp_path):
    calls = _apt_calls(tmp_path, "scripts/setup-system.sh")
    assert any(" update" in c for c in calls) and any(" install" in c for c in calls), calls
    for call in calls:
        assert "-o DPkg::Lock::Timeout=600" in call, call


def test_ci_run_waits_for_the_dpkg_lock(tmp_path):
    calls = _apt_calls(tmp_path, ".ci/run")
    assert len(calls) >= 3, calls  # its own update, then setup-system's update and install
    for call in calls:
        assert "-o DPkg::Lock::Timeout=600" in call, call
