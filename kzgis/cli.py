"""Command line: ``kzgis run RECIPE``, ``kzgis demo``, ``kzgis layers check RECIPE``."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from ._errors import KzgisError

REPO = Path(__file__).resolve().parents[1]
DEMO_RECIPE = REPO / "analyses" / "kaizhou.yaml"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kzgis",
        description="Rural fire-infrastructure planning for Kaizhou: fire-truck access, water coverage, "
                    "brigade response, forest barriers, checkpoints, helicopter sites, offline maps, 消防专篇.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log details to the terminal")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a recipe (YAML) and write results, maps and report",
                       description="Run every analysis a recipe names. Writes DIR/results.gpkg, "
                                   "DIR/tables.xlsx, DIR/maps/*.html, DIR/report/, DIR/summary.json, "
                                   "DIR/kzgis.log; the previous DIR is replaced only when the run succeeds.")
    r.add_argument("recipe", type=Path, help="recipe file (YAML); paths inside are relative to it")
    r.add_argument("--out", type=Path, help="output folder (default: the recipe's outputs.dir)")
    r.add_argument("--towns", help="limit to these townships, comma-separated, e.g. 温泉镇,大进镇")
    r.add_argument("--only", help="run only these analyses of the recipe, comma-separated")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("demo", help="run the embedded Kaizhou demo (analyses/kaizhou.yaml)",
                       description="Run the demo recipe on the embedded data in layers/kaizhou and copy "
                                   "the HTML maps into maps/.")
    d.add_argument("--out", type=Path, default=None, help="output folder (default: out/kaizhou)")
    d.add_argument("--maps-dir", type=Path, default=REPO / "maps",
                   help="also copy the HTML maps here (default: maps/ of the repository)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")

    a = sub.add_parser("analyses", help="list the analyses, the layers each needs and their parameters",
                       description="Every analysis a recipe can name under 'analyses:', with the layers it "
                                   "needs, the result layers it writes and each parameter's default.")
    a.add_argument("name", nargs="?", help="show only this analysis")

    lyr = sub.add_parser("layers", help="layer tools")
    lsub = lyr.add_subparsers(dest="layers_command", required=True, metavar="ACTION")
    c = lsub.add_parser("check", help="load and validate every layer of a recipe; exit 1 on errors",
                        description="Print a validation table (feature counts, CRS, invalid geometries, "
                                    "missing fields, out-of-range values, duplicate ids, layers outside "
                                    "the study area). Exit code 1 when there are errors.")
    c.add_argument("recipe", type=Path)
    return p


def _cmd_run(args) -> int:
    from . import pipeline, recipe

    rec = recipe.load(args.recipe)
    towns = [t.strip() for t in args.towns.split(",")] if args.towns else None
    only = [t.strip() for t in args.only.split(",")] if args.only else None
    res = pipeline.run(rec, out_dir=args.out, towns=towns, quiet=args.quiet, only=only)
    _print_summary(res)
    return 0


def _print_summary(res):
    s = res.summary
    print(f"kzgis: {s['name']} done in {s['timings_s']['total']:.1f} s -> {res.out_dir}")
    for name in s["ran"]:
        print(f"  ran     {name} ({s['timings_s'].get(name, 0):.1f} s)")
    for name, msg in s["skipped"].items():
        print(f"  {msg}")
    for key, n in s["counts"].items():
        print(f"  {key}: {n}")
    if s["warnings"]:
        print(f"  {len(s['warnings'])} warning(s): see summary.json")


def _cmd_demo(args) -> int:
    from . import pipeline, recipe

    if not DEMO_RECIPE.exists():
        raise KzgisError(f"the demo recipe {DEMO_RECIPE} is missing: run from a clone of the kzgis repository")
    rec = recipe.load(DEMO_RECIPE)
    out = args.out or (REPO / "out" / "kaizhou")
    res = pipeline.run(rec, out_dir=out, quiet=args.quiet)
    _print_summary(res)
    maps = res.out_dir / "maps"
    if args.maps_dir and maps.exists():
        args.maps_dir.mkdir(parents=True, exist_ok=True)
        for f in maps.glob("*.html"):
            shutil.copy2(f, args.maps_dir / f.name)
        print(f"  maps copied to {args.maps_dir} (open index.html)")
    return 0


def _cmd_layers_check(args) -> int:
    from . import recipe
    from .load import load_layers
    from .validation import problems_table

    rec = recipe.load(args.recipe)
    layers = load_layers(rec.layers, rec.crs, strict=False)
    print(f"working CRS: {layers.crs.to_string()} ({layers.crs.name})")
    rows = [("layer", "features", "CRS", "geometry")]
    for kind, val in layers.items():
        if kind == "dem":
            rows.append((kind, f"{val.shape[0]}x{val.shape[1]} cells", val.crs.to_string(), f"{val.cell_m:.0f} m"))
        else:
            gt = ",".join(sorted(val.geom_type.unique())) if len(val) else "-"
            rows.append((kind, str(len(val)), val.crs.to_string() if val.crs else "NONE", gt))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(r[i].ljust(w[i]) for i in range(4)))
    print()
    print(problems_table(layers.problems))
    n_err = sum(p.severity == "error" for p in layers.problems)
    n_warn = sum(p.severity == "warning" for p in layers.problems)
    print(f"\n{n_err} error(s), {n_warn} warning(s)")
    return 1 if n_err else 0


def _cmd_analyses(args) -> int:
    import dataclasses

    from . import analysis

    reg = analysis.load_all()
    names = [analysis.get(args.name).name] if args.name else list(reg)
    for name in names:
        spec = reg[name]
        print(f"{name}: {spec.title_zh}")
        needs = list(spec.needs) + [" or ".join(g) for g in spec.needs_any]
        print(f"  needs layers : {', '.join(needs) or '-'}")
        if spec.optional:
            print(f"  uses if given: {', '.join(spec.optional)}")
        print(f"  result layers: {', '.join(spec.results)}")
        print("  parameters (default):")
        for f in dataclasses.fields(spec.params):
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
            print(f"    {f.name} = {default!r}")
        print()
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # the run's log file gets INFO anyway; the terminal only what was asked
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(level)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "analyses":
            return _cmd_analyses(args)
        if args.command == "layers":
            return _cmd_layers_check(args)
    except KzgisError as exc:
        print(f"kzgis: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kzgis: interrupted; the previous output folder is untouched", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
