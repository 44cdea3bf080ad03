"""``import minigrad`` tunes glibc's malloc so that a step's freed temporaries are
reused, not returned to the OS and page-faulted in again on the next step."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the malloc tuning is for Linux with glibc (elsewhere it does nothing)")

# Ten 4 MiB temporaries made, written and freed, as a training step does: page faults per round.
PROBE = """
import resource
import numpy as np
import minigrad

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def one_round():
    blocks = [np.empty(1 << 20, np.float32) for _ in range(10)]
    for b in blocks:
        b.fill(1.0)

for _ in range(3):
    one_round()
start = faults()
for _ in range(5):
    one_round()
print(minigrad._malloc.tuned, (faults() - start) / 5)
"""


def _probe(tune: str) -> tuple[str, float]:
    env = dict(os.environ, MINIGRAD_MALLOC_TUNE=tune)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0], float(out[1])


def test_freed_step_temporaries_are_reused_without_page_faults() -> None:
    tuned, faults = _probe("1")
    assert tuned == "True"
    assert faults < 100  # 40 MiB written per round: ~10,000 faults if it were new memory


def test_the_tuning_can_be_turned_off_and_then_the_faults_come_back() -> None:
    tuned, faults = _probe("0")
    assert tuned == "False"
    assert faults > 1000  # glibc trims the freed 40 MiB and the next round faults it in again
