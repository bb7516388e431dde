"""Rewrite upstream lazycogs 0.7.0's three PEP 695 signatures for Python 3.11.

lazycogs/_executor.py declares `run_duckdb[**P, T]`, `_submit_to_loop[T]`
and `run_on_loop[T]` (Python 3.12 syntax). The module has `from __future__
import annotations`, so removing the bracketed type parameters is enough:
the annotations naming P and T are never evaluated. Run with the venv's
python; idempotent; fails loudly if the file does not look as expected.
"""
# SPDX-License-Identifier: MIT
import importlib.util
import re
import sys
from pathlib import Path

EDITS = [
    ("async def run_duckdb[**P, T](", "async def run_duckdb("),
    ("def _submit_to_loop[T](", "def _submit_to_loop("),
    ("def run_on_loop[T](", "def run_on_loop("),
]


def main() -> int:
    spec = importlib.util.find_spec("lazycogs")
    path = Path(spec.origin).parent / "_executor.py"
    text = path.read_text()
    if "from __future__ import annotations" not in text:
        sys.exit(f"{path}: no 'from __future__ import annotations'; edit unsafe")
    for old, new in EDITS:
        if text.count(old) == 1:
            text = text.replace(old, new)
        elif text.count(new) != 1:
            sys.exit(f"{path}: expected exactly one '{old}' (or the edited form)")
    left = re.findall(r"def \w+\[[^\]]*\]\(", text)
    if left:
        sys.exit(f"{path}: PEP 695 parameters left: {left}")
    path.write_text(text)
    compile(text, str(path), "exec")  # a SyntaxError here means the edit failed
    print(f"patch_pep695: {path} edited (3 signatures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
