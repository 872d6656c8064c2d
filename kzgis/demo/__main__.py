"""``python -m kzgis.demo [OUT_DIR] [--seed N]``: regenerate the Kaizhou demo layers."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import default_out_dir, generate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kzgis.demo", description=__doc__)
    ap.add_argument("out_dir", nargs="?", type=Path, default=None,
                    help=f"output folder (default: {default_out_dir()})")
    ap.add_argument("--seed", type=int, default=20231)
    a = ap.parse_args(argv)
    t = time.perf_counter()
    paths = generate(a.out_dir, seed=a.seed)
    for name, p in paths.items():
        print(f"{p.stat().st_size / 1e6:8.2f} MB  {p}")
    print(f"done in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
