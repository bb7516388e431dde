"""The CMake configure step: a missing system library names its Debian package."""
# SPDX-License-Identifier: MIT
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _pc_dirs() -> list[Path]:
    out = subprocess.run(
        ["pkg-config", "--variable", "pc_path", "pkg-config"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return [Path(p) for p in out.split(":") if p and Path(p).is_dir()]


def _configure(tmp_path: Path, pc_libdir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(pc_libdir))
    env.pop("PKG_CONFIG_PATH", None)
    return subprocess.run(
        ["cmake", "-S", str(REPO), "-B", str(tmp_path / "build"),
         "-DLC_BUILD_TESTS=OFF"],
        capture_output=True, text=True, env=env,
    )


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="no pkg-config")
@pytest.mark.parametrize(
    ("hidden_pc", "debian_package"),
    [("libcurl.pc", "libcurl4-openssl-dev"), ("proj.pc", "libproj-dev"),
     ("Lerc.pc", "liblerc-dev"), ("jansson.pc", "libjansson-dev")],
)
def test_missing_library_names_debian_package(tmp_path, hidden_pc, debian_package):
    # A pkg-config search path holding every .pc file of this machine except
    # one: configure must stop and say which package to install.
    pc_dir = tmp_path / "pc"
    pc_dir.mkdir()
    for d in _pc_dirs():
        for pc in d.glob("*.pc"):
            if pc.name != hidden_pc and not (pc_dir / pc.name).exists():
                (pc_dir / pc.name).symlink_to(pc)
    result = _configure(tmp_path, pc_dir)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert f"apt-get install {debian_package}" in text


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="no pkg-config")
def test_configure_succeeds_with_all_libraries(tmp_path):
    pc_dir = tmp_path / "pc"
    pc_dir.mkdir()
    for d in _pc_dirs():
        for pc in d.glob("*.pc"):
            if not (pc_dir / pc.name).exists():
                (pc_dir / pc.name).symlink_to(pc)
    result = _configure(tmp_path, pc_dir)
    assert result.returncode == 0, result.stdout + result.stderr
