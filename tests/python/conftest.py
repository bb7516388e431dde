"""Shared pytest fixtures: the generated test world and the loopback servers."""
# SPDX-License-Identifier: MIT
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"
sys.path.insert(0, str(TOOLS))


def _world_dir() -> Path:
    """Where the ci world lives; reused across runs (make_world skips work
    when the folder already holds a complete world of the same version)."""
    env = os.environ.get("LAZYCOGS_WORLD_DIR")
    return Path(env) if env else REPO / "_world" / "ci"


@pytest.fixture(scope="session")
def ci_world() -> Path:
    """Path of the ci-size test world (COGs + items.parquet etc.), file:// hrefs."""
    out = _world_dir()
    subprocess.run(
        [sys.executable, str(TOOLS / "make_world.py"), "--size", "ci",
         "--out", str(out)],
        check=True,
    )
    return out
