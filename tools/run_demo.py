"""`make demo`: generate the ci world once, serve it over HTTP on loopback, run the demo."""
# SPDX-License-Identifier: MIT
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import make_world  # noqa: E402  (tools/ is not a package)
import serve  # noqa: E402


def main() -> int:
    world = REPO / "_world" / "ci"
    # Idempotent: a complete world of the same version is not regenerated.
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_world.py"),
         "--size", "ci", "--out", str(world)],
        check=True,
    )
    log_path = REPO / "_world" / "demo-http.log"
    with serve.LoopbackServer(world, port=0, log_path=log_path) as server:
        # The demo reads the world through HTTP, as a user reads a bucket:
        # its catalogue points at the loopback server, not at local files.
        catalog_dir = REPO / "_world" / "demo-http"
        items = make_world.rebase_hrefs(
            make_world.load_items(world), world, server.url)
        make_world.write_catalogs(items, catalog_dir)
        print(f"serving {world} at {server.url}", flush=True)
        rc = subprocess.run(
            [sys.executable, str(REPO / "examples" / "demo.py"),
             str(catalog_dir / "items.parquet")],
        ).returncode
        print(f"\n{len(server.log)} HTTP requests served "
              f"(log: {log_path.relative_to(REPO)})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
