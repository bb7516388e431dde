"""The installed lazycogs package: extension module, version, errors, CLI."""
# SPDX-License-Identifier: MIT
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import lazycogs
from lazycogs import _errors, _ext

HEADER = Path(__file__).resolve().parents[2] / "include" / "lazycogs.h"


def _header_version() -> str:
    text = HEADER.read_text()
    parts = [
        re.search(rf"#define LC_VERSION_{p} (\d+)", text).group(1)
        for p in ("MAJOR", "MINOR", "PATCH")
    ]
    return ".".join(parts)


def test_version_matches_header():
    assert lazycogs.__version__ == _header_version()
    major, minor, patch = map(int, _header_version().split("."))
    assert _ext.version() == major * 10000 + minor * 100 + patch
    assert _ext.COMPILED_VERSION_NUMBER == _ext.version()


def test_status_table_comes_from_the_c_library():
    table = _ext.status_table()
    assert table[0] == ("LC_OK", "success")
    assert table[-5] == ("LC_ECORRUPT", "corrupt or malformed data")
    # Every error code has an exception class of its own category.
    for status, (name, _text) in table.items():
        if status < 0:
            assert name in _errors._CLASS_BY_NAME, name


@pytest.mark.parametrize(
    ("status", "cls", "builtin"),
    [
        (-1, lazycogs.InvalidArgumentError, ValueError),
        (-2, lazycogs.OutOfMemoryError, MemoryError),
        (-3, lazycogs.ReadError, OSError),
        (-4, lazycogs.HTTPStatusError, OSError),
        (-5, lazycogs.CorruptDataError, ValueError),
        (-6, lazycogs.UnsupportedError, NotImplementedError),
        (-10, lazycogs.NotFoundError, FileNotFoundError),
    ],
)
def test_error_classes(status, cls, builtin):
    err = _errors.error_for_status(status, "/data/x.tif: bad IFD offset")
    assert type(err) is cls
    assert isinstance(err, lazycogs.LazycogsError)
    assert isinstance(err, builtin)
    assert err.status == status
    assert err.code == _ext.status_table()[status][0]
    assert "x.tif: bad IFD offset" in str(err)


def test_unknown_status_is_base_error():
    err = _errors.error_for_status(-999, "strange")
    assert type(err) is lazycogs.LazycogsError
    assert err.code == "LC_EUNKNOWN"


def test_extension_hides_library_symbols():
    """The static library is linked with hidden symbols, so another copy of
    liblazycogs in the same process cannot clash with this one."""
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm not available")
    out = subprocess.run(
        [nm, "-D", "--defined-only", _ext.__file__],
        capture_output=True, text=True, check=True,
    ).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert "PyInit__ext" in exported
    assert not [s for s in exported if s.startswith("lc_")]


def test_cli_installed_with_package():
    exe = Path(lazycogs.__file__).parents[0]
    cli = shutil.which("lazycogs") or str(
        Path(subprocess.sys.executable).parent / "lazycogs"
    )
    out = subprocess.run([cli, "--version"], capture_output=True, text=True)
    assert exe.exists()
    assert out.returncode == 0
    assert out.stdout == f"lazycogs {lazycogs.__version__}\n"
    bad = subprocess.run([cli, "nonsense"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "unknown command 'nonsense'" in bad.stderr
    assert bad.stdout == ""


def test_fork_right_after_import_waits_for_the_proj_thread():
    """Importing lazycogs opens PROJ's database on a thread. A fork right
    after the import waits for that thread, and the child can use PROJ at
    once (a child forked while the thread held PROJ's locks would hang)."""
    code = (
        "import os, sys\n"
        "import lazycogs\n"
        "from lazycogs import _ext\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    _ext.prepare_geo()\n"
        "    os._exit(0)\n"
        "alive = lazycogs._prepare_geo.is_alive()\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(alive, os.waitstatus_to_exitcode(status))\n"
    )
    for _ in range(3):
        out = subprocess.run(
            [subprocess.sys.executable, "-c", code],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout == "False 0\n"
