"""Command line: ``kzgis run RECIPE``, ``kzgis batch RECIPE...``, ``kzgis demo``, ``kzgis layers check RECIPE``."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from ._errors import KzgisError
from ._memory import limit_arenas
from ._outdir import Terminated, os_error_message, terminate_as_interrupt

REPO = Path(__file__).resolve().parents[1]
DEMO_RECIPE = REPO / "analyses" / "kaizhou.yaml"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kzgis",
        description="Rural fire-infrastructure planning for Kaizhou: fire-truck access, water coverage, "
                    "brigade response, forest barriers, checkpoints, helicopter sites, offline maps, 消防专篇.",
    )
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log details to the terminal and show the traceback of an internal error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # -v also after the command (kzgis run recipe.yaml -v)
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log details to the terminal and show the traceback of an internal error")

    r = sub.add_parser("run", parents=[verbose], help="run a recipe (YAML) and write results, maps and report",
                       description="Run every analysis a recipe names. Writes DIR/results.gpkg, "
                                   "DIR/tables.xlsx, DIR/maps/*.html, DIR/report/, DIR/summary.json, "
                                   "DIR/kzgis.log; the previous DIR is replaced only when the run succeeds, and only when "
                                   "kzgis wrote it (marker file DIR/.kzgis-output).")
    r.add_argument("recipe", type=Path, help="recipe file (YAML); paths inside are relative to it")
    r.add_argument("--out", help="output folder: a new folder or one an earlier kzgis run wrote "
                                 "(default: the recipe's outputs.dir)")
    r.add_argument("--towns", help="limit to these townships, comma-separated, e.g. 温泉镇,大进镇")
    r.add_argument("--only", help="run only these analyses of the recipe, comma-separated")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="write the per-township maps and report chapters on this Dask cluster "
                        "(tcp://host:8786); the output folder must be on a disk the workers share")
    r.add_argument("--split-towns", type=int, metavar="N",
                   help="with --scheduler: split the township outputs into N tasks (default: one per worker)")

    b = sub.add_parser("batch", parents=[verbose], help="run many recipes (counties) as jobs on a Dask cluster",
                       description="Run each recipe as a job on a Dask cluster (a local one by default). "
                                   "Each job writes what `kzgis run` writes into DIR/<recipe name>/; "
                                   "DIR/batch_summary.json, DIR/index.html and DIR/tables.xlsx sum them up. "
                                   "A failed job does not stop the others; the exit code is 1 when one failed. "
                                   "Workers read the layers from the recipes' paths: on a real cluster every "
                                   "worker needs the same paths (shared disk) or /vsis3/ /vsicurl/ URLs.")
    b.add_argument("recipes", type=Path, nargs="+", metavar="RECIPE", help="recipe files (YAML)")
    b.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="batch folder (new, or an earlier kzgis batch folder)")
    where = b.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a running Dask scheduler (tcp://host:8786), started with `dask scheduler`")
    where.add_argument("--workers", type=int, metavar="N",
                       help="worker processes of the local cluster (default: the number of cores)")
    b.add_argument("--split-towns", type=int, default=0, metavar="N",
                   help="also split each recipe's township maps and report chapters into N parallel tasks")
    b.add_argument("--dashboard", action="store_true", help="print the Dask dashboard link")
    b.add_argument("--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("demo", parents=[verbose], help="run the embedded Kaizhou demo (analyses/kaizhou.yaml)",
                       description="Run the demo recipe on the embedded data in layers/kaizhou and copy "
                                   "the HTML maps into maps/.")
    d.add_argument("--out", default=None, help="output folder (default: out/kaizhou)")
    d.add_argument("--maps-dir", type=Path, default=REPO / "maps",
                   help="also copy the HTML maps here (default: maps/ of the repository)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")

    a = sub.add_parser("analyses", parents=[verbose], help="list the analyses, the layers each needs and their parameters",
                       description="Every analysis a recipe can name under 'analyses:', with the layers it "
                                   "needs, the result layers it writes and each parameter's default.")
    a.add_argument("name", nargs="?", help="show only this analysis")
    a.add_argument("--markdown", action="store_true",
                   help="print the result layers and default rules as Markdown (docs/results.md is this output)")

    lyr = sub.add_parser("layers", help="layer tools")
    lsub = lyr.add_subparsers(dest="layers_command", required=True, metavar="ACTION")
    c = lsub.add_parser("check", parents=[verbose], help="load and validate every layer of a recipe; exit 1 on errors",
                        description="Print a validation table (feature counts, CRS, invalid geometries, "
                                    "missing fields, out-of-range values, duplicate ids, layers outside "
                                    "the study area). Exit code 1 when there are errors.")
    c.add_argument("recipe", type=Path)

    cmp = sub.add_parser("compare", parents=[verbose], help="compare two runs (before / after) of the same area",
                         description="Match the result layers of two kzgis output folders by stable keys "
                                     "(settlement name and town, station, township, road) and write what "
                                     "changed: DIR/compare.xlsx, DIR/changes.gpkg, DIR/compare.html and "
                                     "DIR/summary.json (with a Chinese summary paragraph).")
    cmp.add_argument("run_a", type=Path, help="output folder of the earlier run (before)")
    cmp.add_argument("run_b", type=Path, help="output folder of the later run or scenario (after)")
    cmp.add_argument("--out", type=Path, required=True, help="folder for the comparison (a new or earlier kzgis folder)")
    return p


def _cmd_run(args) -> int:
    from . import pipeline, recipe

    rec = recipe.load(args.recipe)
    towns = [t.strip() for t in args.towns.split(",")] if args.towns else None
    only = [t.strip() for t in args.only.split(",")] if args.only else None
    if args.split_towns is not None and not args.scheduler:
        raise KzgisError("--split-towns needs --scheduler ADDRESS (a Dask cluster); for many recipes use kzgis batch")
    if args.scheduler:
        from .batch import DaskTowns, _Cluster

        with _Cluster(scheduler=args.scheduler) as client:
            n = args.split_towns or max(1, len(client.scheduler_info().get("workers", {})))
            res = pipeline.run(rec, out_dir=args.out, towns=towns, quiet=args.quiet, only=only,
                               town_runner=DaskTowns(n, client=client))
    else:
        res = pipeline.run(rec, out_dir=args.out, towns=towns, quiet=args.quiet, only=only)
    _print_summary(res)
    return 0


def _cmd_batch(args) -> int:
    from .batch import run_batch

    res = run_batch(args.recipes, args.out, scheduler=args.scheduler, workers=args.workers,
                    split_towns=args.split_towns, dashboard=args.dashboard, quiet=args.quiet, echo=print)
    s = res.summary
    print(f"kzgis batch: {s['jobs_total'] - s['jobs_failed']} of {s['jobs_total']} job(s) done in "
          f"{s['wall_s']:.1f} s -> {res.out_dir} (open index.html; numbers in tables.xlsx)")
    if res.failed:
        print(f"kzgis batch: {len(res.failed)} job(s) failed: {', '.join(r['job'] for r in res.failed)} "
              f"(errors in {res.out_dir / 'batch_summary.json'})", file=sys.stderr)
    return res.exit_code


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
    out = args.out if args.out is not None else (REPO / "out" / "kaizhou")
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
    _print_network(layers, rec)
    n_err = sum(p.severity == "error" for p in layers.problems)
    n_warn = sum(p.severity == "warning" for p in layers.problems)
    print(f"\n{n_err} error(s), {n_warn} warning(s)")
    return 1 if n_err else 0


def _cmd_compare(args) -> int:
    from .compare import compare

    res = compare(args.run_a, args.run_b, args.out)
    print(f"kzgis: compared {args.run_a} -> {args.run_b}: written to {res.out_dir}")
    for d in res.diffs:
        if d.changed or d.added or d.removed:
            print(f"  {d.name}: {d.changed} changed ({d.improved} better, {d.worsened} worse), "
                  f"{d.added} added, {d.removed} removed")
    for s in res.sentences:
        print(f"  {s}")
    return 0


def _print_network(layers, rec) -> None:
    """The road network as the run would build it: size, connectivity, km by class, warnings."""
    from . import _net_report
    from ._errors import KzgisError
    from .network import RoadNetwork

    if not layers.has("roads"):
        return
    print()
    try:
        net = RoadNetwork.from_layers(layers, rec.network)
    except KzgisError as exc:
        print(f"road network: cannot be built: {exc}")
        return
    for line in _net_report.summary_lines(_net_report.network_summary(net)):
        print(line)
    settlements = layers["settlements"] if layers.has("settlements") else None
    stations = layers["stations"] if layers.has("stations") else None
    for w in net.warnings + _net_report.settlement_warnings(net, settlements, stations):
        print(f"  WARNING {w}")


def _cmd_analyses(args) -> int:
    import dataclasses

    from . import analysis

    reg = analysis.load_all()
    names = [analysis.get(args.name).name] if args.name else list(reg)
    if args.markdown:
        from . import _schema_doc

        sys.stdout.write(_schema_doc.markdown(names if args.name else None))
        return 0
    for name in names:
        spec = reg[name]
        print(f"{name}: {spec.title_zh}")
        needs = list(spec.needs) + [" or ".join(g) for g in spec.needs_any]
        print(f"  needs layers : {', '.join(needs) or '-'}")
        if spec.optional:
            print(f"  uses if given: {', '.join(spec.optional)}")
        print(f"  result layers: {', '.join(spec.results)}")
        if args.name:
            from . import schema

            text = schema.describe(name)
            print("  result schema:" if text else "  result schema: not declared yet (kzgis/schema.py)")
            if text:
                print(text)
        print("  parameters (default; the rule each comes from, its source and confidence, A = assumption):")
        in_force = {r.key: r for r in spec.in_force(spec.params())}
        for f in dataclasses.fields(spec.params):
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
            r = in_force.get(f.name)
            why = "" if r is None else (f"  [rule {r.rule}: {r.source}; {r.confidence}]" if r.rule
                                        else f"  [{r.source}; {r.confidence}]")
            print(f"    {f.name} = {default!r}{why}")
        print()
    return 0


def log_path() -> Path:
    """Where the CLI logs internal errors with their traceback: ``$KZGIS_LOG``, else
    ``$XDG_STATE_HOME/kzgis/kzgis.log`` (``~/.local/state/kzgis/kzgis.log``)."""
    env = os.environ.get("KZGIS_LOG")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "kzgis" / "kzgis.log"


def _log_crash(argv, exc: BaseException) -> Path:
    """Append the traceback to the log; return its path (a temp file when the usual one is not writable)."""
    text = (f"\n=== {datetime.now(UTC).isoformat(timespec='seconds')} kzgis "
            f"{' '.join(map(str, argv if argv is not None else sys.argv[1:]))}\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for path in (log_path(), Path(tempfile.gettempdir()) / f"kzgis-{os.getuid() if hasattr(os, 'getuid') else 0}.log"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > 5_000_000:
                path.write_text("", encoding="utf-8")
            with open(path, "a", encoding="utf-8") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return Path("(no writable log)")


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def main(argv=None) -> int:
    """Run the command line; return the exit code (0 ok, 1 layer errors found, 2 refused / bad
    input, 3 internal error, 130 Ctrl-C, 143 SIGTERM). Never prints a traceback unless ``-v``."""
    args = _parser().parse_args(argv)
    limit_arenas(2)  # the threads' freed memory reused, not kept in heaps of their own (issue 14)
    verbose = bool(getattr(args, "verbose", False))
    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # the run's log file gets INFO anyway; the terminal only what was asked
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(level)
    try:
        with terminate_as_interrupt():
            return _dispatch(args)
    except KzgisError as exc:
        if getattr(exc, "unexpected", False):
            cause = exc.__cause__ or exc
            path = _log_crash(argv, cause)
            print(f"kzgis: error: {_one_line(exc)}", file=sys.stderr)
            print(f"kzgis: this looks like a kzgis defect: please report it with the log {path}", file=sys.stderr)
            if verbose:
                traceback.print_exception(type(cause), cause, cause.__traceback__)
            return 3
        print(f"kzgis: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("kzgis: terminated (SIGTERM); the previous output folder is untouched", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("kzgis: interrupted; the previous output folder is untouched", file=sys.stderr)
        return 130
    except MemoryError as exc:
        path = _log_crash(argv, exc)
        print("kzgis: error: out of memory. Limit the run with --towns or --only, or use a coarser DEM; "
              f"the previous output folder is untouched (details: {path})", file=sys.stderr)
        return 2
    except OSError as exc:
        msg = os_error_message(exc, exc.filename or "the output")
        if msg is not None:
            print(f"kzgis: error: {msg}", file=sys.stderr)
            return 2
        return _internal(argv, exc, verbose)
    except Exception as exc:  # noqa: BLE001 - the last-resort handler: one line, traceback to the log
        return _internal(argv, exc, verbose)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _internal(argv, exc, verbose) -> int:
    path = _log_crash(argv, exc)
    print(f"kzgis: internal error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
    print(f"kzgis: this is a kzgis defect: please report it with the log {path} "
          "(kzgis -v shows the traceback); the previous output folder is untouched", file=sys.stderr)
    if verbose:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    return 3


def _dispatch(args) -> int:
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "batch":
        return _cmd_batch(args)
    if args.command == "demo":
        return _cmd_demo(args)
    if args.command == "analyses":
        return _cmd_analyses(args)
    if args.command == "layers":
        return _cmd_layers_check(args)
    if args.command == "compare":
        return _cmd_compare(args)
    return 0  # pragma: no cover - argparse requires a command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
