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
