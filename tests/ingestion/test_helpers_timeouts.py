"""The tests' child-process helper never blocks on a child that prints nothing."""

from __future__ import annotations

import subprocess
import sys

from ingest_helpers import readline_within


def test_readline_within_gives_up_on_a_silent_child_and_reads_a_talking_one():
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.PIPE, text=True
    )
    talking = subprocess.Popen(
        [sys.executable, "-c", "print('READY', flush=True); import time; time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert readline_within(silent.stdout, 1.0) == ""  # plain readline() would hang here
        assert readline_within(talking.stdout, 30.0) == "READY\n"
    finally:
        for proc in (silent, talking):
            proc.kill()
            proc.wait(10)
