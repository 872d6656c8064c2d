"""The QGIS-free half of the plugin: what each algorithm offers, the recipe it writes, and running kzgis.

Nothing here imports QGIS, so the kzgis test suite checks this table against kzgis itself (layer
kinds, parameter defaults, result layers) and runs the subprocess handling without QGIS.

kzgis runs out of process: QGIS's Python and the kzgis environment (GeoPandas, SciPy, spopt, ...)
are different installations. The plugin needs the Python interpreter of an environment where
kzgis is installed; :func:`find_python` looks in this order: the plugin setting, the environment
variable ``KZGIS_PYTHON``, then the interpreter of a ``kzgis`` command on ``PATH``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROVIDER_ID = "kzgis"
PROVIDER_NAME = "kzgis 农村消防规划"


@dataclass(frozen=True)
class FieldParam:
    """A field of an input layer the user picks (canonical kzgis field <- the layer's column)."""

    canonical: str
    label_zh: str
    numeric: bool = False


@dataclass(frozen=True)
class NumberParam:
    """A numeric analysis parameter with its kzgis default (checked against kzgis by the tests)."""

    name: str
    label_zh: str
    default: float
    integer: bool = False


@dataclass(frozen=True)
class Algo:
    """One Processing algorithm: one kzgis analysis (or the whole recipe)."""

    name: str  # algorithm id: kzgis:<name>
    title_zh: str
    needs: tuple[str, ...]  # layer kinds that must be given
    optional: tuple[str, ...] = ()  # layer kinds used when given
    numbers: tuple[NumberParam, ...] = ()
    help_zh: str = ""
    needs_any: tuple[tuple[str, ...], ...] = ()  # at least one of each group


# Fields the user maps for each layer kind (kzgis also recognises common Chinese names itself).
LAYER_FIELDS: dict[str, tuple[FieldParam, ...]] = {
    "roads": (FieldParam("width_m", "路面宽度字段", True), FieldParam("road_class", "道路等级字段"),
              FieldParam("name", "道路名称字段"), FieldParam("oneway", "单行字段")),
    "settlements": (FieldParam("name", "居民点名称字段"), FieldParam("town", "所属乡镇字段"),
                    FieldParam("population", "人口字段", True)),
    "stations": (FieldParam("name", "队站名称字段"), FieldParam("status", "状态字段（现状/规划）")),
    "boundary": (FieldParam("town", "乡镇名称字段"),),
    "fire_pools": (FieldParam("volume_m3", "容积字段（立方米）", True),),
    "water_bodies": (FieldParam("depth_m", "水深字段（米）", True),),
    "water_mains": (FieldParam("diameter_mm", "管径字段（毫米）", True),),
}

LAYER_TITLES_ZH = {
    "county": "区县界", "boundary": "乡镇（街道）界", "township_seats": "乡镇驻地", "urban_area": "城区",
    "settlements": "居民点", "roads": "道路", "stations": "消防队站", "hydrants": "消火栓",
    "fire_pools": "消防水池", "water_intakes": "天然水源取水点", "water_bodies": "水体", "rivers": "河流",
    "water_mains": "消防给水管网", "forest": "林地", "power_lines": "电力线", "old_towns": "古镇",
    "candidate_sites": "候选站址", "mountain_units": "山系单元", "dem": "数字高程模型（DEM）",
    "forest_work_sites": "林区生产作业场地", "fire_risk_edges": "易发火林缘",
}

ALGORITHMS: dict[str, Algo] = {a.name: a for a in (
    Algo("access", "消防车通行分析", ("roads", "settlements", "stations"), ("boundary", "dem"),
         (NumberParam("upgrade_width_m", "道路拓宽目标宽度（米）", 4.0),
          NumberParam("dead_end_max_m", "尽头路需设回车场的长度（米）", 40.0),
          NumberParam("max_upgrades", "拓宽建议最大条数", 30, integer=True)),
         "按路宽、纵坡和尽端路判断每段道路可通行的消防车型（标准、小型、消防摩托车），"
         "求每个居民点可达的最优车型、瓶颈路段和拓宽改造清单。"),
    Algo("response", "消防队站响应范围分析", ("roads", "stations"),
         ("settlements", "boundary", "candidate_sites", "township_seats"),
         (NumberParam("turnout_min", "出动时间（分钟）", 1.0),
          NumberParam("siting_time_min", "选址到场时间标准（分钟）", 15.0)),
         "沿道路网计算各消防队站5/10/15/20/30分钟到场范围、首到站责任区、直线半径对比和乡镇到场率。"),
    Algo("water", "消防水源分析", ("roads",),
         ("settlements", "boundary", "urban_area", "old_towns", "water_mains", "rivers", "water_bodies", "dem"),
         (NumberParam("hydrant_reach_m", "消火栓保护距离（米）", 150.0),
          NumberParam("pool_reach_m", "消防水池保护距离（米）", 150.0),
          NumberParam("pool_volume_min_m3", "消防水池最小容积（立方米）", 100.0)),
         "消火栓、消防水池和天然水源取水点沿道路网的保护范围，居民点覆盖、间距缺口和新增消火栓建议。",
         needs_any=(("hydrants", "fire_pools", "water_intakes"),)),
    Algo("barriers", "林火阻隔带", ("forest",),
         ("settlements", "urban_area", "dem", "rivers", "water_bodies", "roads", "boundary"),
         (NumberParam("urban_width_m", "面向城区阻隔带宽度（米）", 200.0),
          NumberParam("town_width_m", "其余乡镇阻隔带宽度（米）", 100.0)),
         "自林缘向林内划定面向城区200米、面向其余建成区100米的林火阻隔带，按坡度分工程/生物阻隔。",
         needs_any=(("settlements", "urban_area"),)),
    Algo("checkpoints", "森林防火检查站", ("forest", "roads"),
         ("settlements", "stations", "urban_area", "boundary", "forest_work_sites", "fire_risk_edges", "dem"),
         (NumberParam("group_m", "村口合并距离（米）", 200.0),),
         "求进入各林区的必经道口（最小割，每条道路各设一处）、临林村镇出口及服务林区作业点、易发火林缘的道口，"
         "分标准、简易和可选（过境道路）并逐处说明理由。"),
    Algo("helicopter", "直升机取水点与停机坪", ("water_bodies", "dem", "forest"),
         ("power_lines", "roads", "boundary", "mountain_units", "settlements", "urban_area", "rivers"),
         (NumberParam("area_min_m2", "取水水面最小面积（平方米）", 2000.0),
          NumberParam("depth_min_m", "取水最小水深（米）", 2.5),
          NumberParam("dip_radius_km", "取水点服务半径（公里）", 10.0)),
         "筛选可供吊桶取水的水体（面积、净水面、水深、进近方向、电力线），每乡镇最少取水点覆盖林地，及停机坪候选。"),
)}

RECIPE_ALGO = Algo("recipe", "运行配方（全部分析）", (), (), (),
                   "运行一个 kzgis 配方文件（YAML），写出全部结果、地图和消防专篇。")


def algorithms_from_kzgis(python: str, env: dict | None = None, timeout: float = 120) -> dict[str, Algo]:
    """The algorithms of the installed kzgis (``python -m kzgis.qgis_styles --algorithms``).

    Every registered analysis becomes an algorithm with all its numeric parameters; the static
    :data:`ALGORITHMS` table is the fallback when kzgis cannot be asked (not found, too old).
    Raises :class:`KzgisRunError` when it cannot be asked.
    """
    try:
        res = subprocess.run([python, "-m", "kzgis.qgis_styles", "--algorithms"], capture_output=True, text=True,
                             encoding="utf-8", errors="replace", env=kzgis_env(env), timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KzgisRunError(f"could not ask kzgis for its analyses: {exc}")
    if res.returncode != 0:
        raise KzgisRunError(f"could not ask kzgis for its analyses: {res.stderr.strip().splitlines()[-1:]}")
    out = {}
    for a in json.loads(res.stdout):
        static = ALGORITHMS.get(a["name"])
        out[a["name"]] = Algo(
            a["name"], a["title_zh"], tuple(a["needs"]), tuple(a["optional"]),
            tuple(NumberParam(n["name"], n["label_zh"], n["default"], n["integer"]) for n in a["numbers"]),
            static.help_zh if static else a.get("help_zh", ""), tuple(tuple(g) for g in a["needs_any"]))
    return out


class KzgisRunError(RuntimeError):
    """kzgis could not be run or reported an error (the message is for the user, no traceback)."""


def find_python(setting: str | None = None) -> str:
    """The Python interpreter of the environment where kzgis is installed.

    Order: ``setting`` (the plugin's setting), ``$KZGIS_PYTHON``, the interpreter named in the
    first line of a ``kzgis`` command found on ``PATH``.
    """
    for cand in (setting, os.environ.get("KZGIS_PYTHON")):
        if cand:
            if not Path(cand).exists():
                raise KzgisRunError(f"the kzgis Python '{cand}' does not exist: set the path of the Python "
                                    "interpreter of the environment where kzgis is installed (plugin settings "
                                    "or KZGIS_PYTHON)")
            return str(cand)
    cmd = shutil.which("kzgis")
    if cmd:
        try:
            first = Path(cmd).read_text(encoding="utf-8", errors="replace").splitlines()[0]
        except (OSError, IndexError):
            first = ""
        if first.startswith("#!"):
            interp = first[2:].strip().split()[0]
            if Path(interp).exists():
                return interp
        sibling = Path(cmd).with_name("python")
        if sibling.exists():
            return str(sibling)
    raise KzgisRunError("kzgis was not found: install it (pip install -e <kzgis checkout>) and set the plugin "
                        "setting 'kzgis Python' (or the environment variable KZGIS_PYTHON) to that "
                        "environment's python, e.g. /home/me/kzgis/.venv/bin/python")


@dataclass
class LayerInput:
    """A layer written by the plugin for kzgis: its file and the field mapping the user chose."""

    kind: str
    path: str
    fields: dict[str, str] = field(default_factory=dict)
    layer: str | None = None


def build_recipe(algo: str, layers: list[LayerInput], params: dict, *, name: str = "qgis",
                 maps: bool = True, report: bool = False, extra: dict | None = None) -> dict:
    """The recipe (as a dict) for one analysis on the given layers.

    ``params`` are the analysis parameters the user set; ``extra`` more parameters from the
    algorithm's free-form "other parameters" box (a mapping).
    """
    spec = ALGORITHMS[algo]
    given = {li.kind for li in layers}
    missing = [k for k in spec.needs if k not in given]
    missing += [" or ".join(g) for g in spec.needs_any if not any(k in given for k in g)]
    if missing:
        raise KzgisRunError(f"kzgis:{algo} needs the layer(s) {', '.join(missing)}")
    lay = {}
    for li in layers:
        if li.kind == "dem":
            lay["dem"] = li.path
            continue
        entry: dict = {"path": li.path}
        if li.fields:
            entry["fields"] = dict(li.fields)
        if li.layer:
            entry["layer"] = li.layer
        lay[li.kind] = entry
    section = dict(params)
    for k, v in (extra or {}).items():
        section[k] = v
    return {"name": name, "layers": lay, "analyses": {algo: section},
            "outputs": {"maps": {"offline": True} if maps else False, "report": bool(report)}}


def write_recipe(recipe: dict, path: Path) -> Path:
    """Write a recipe as YAML-compatible JSON (JSON is valid YAML; no PyYAML needed inside QGIS)."""
    path = Path(path)
    path.write_text(json.dumps(recipe, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def parse_extra(text: str) -> dict:
    """The free-form "other parameters" box: ``key: value`` per line or ``key=value; ...`` (numbers,
    true/false, lists in brackets), or a JSON object. Errors name the bad entry."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            out = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KzgisRunError(f"other parameters: not a valid JSON object ({exc.msg} at column {exc.colno})")
        if not isinstance(out, dict):
            raise KzgisRunError("other parameters: expected a mapping of name: value")
        return out
    out = {}
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[:=]\s*(.+)$", part)
        if not m:
            raise KzgisRunError(f"other parameters: '{part}' is not of the form name: value")
        raw = m.group(2).strip()
        try:
            val = json.loads(raw.replace("'", '"'))
        except json.JSONDecodeError:
            val = {"true": True, "false": False, "yes": True, "no": False}.get(raw.lower(), raw)
        out[m.group(1)] = val
    return out


_RUNNING = re.compile(r"running (\w+)")


def kzgis_env(env: dict | None = None) -> dict:
    """The environment for the kzgis process: QGIS's own Python settings removed (``PYTHONHOME`` and
    ``PYTHONPATH`` point at QGIS's Python, not at the kzgis environment); ``KZGIS_PYTHONPATH``, when
    set, becomes its ``PYTHONPATH`` (a kzgis checkout used without installing it)."""
    run_env = dict(os.environ if env is None else env)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE"):
        run_env.pop(key, None)
    if run_env.get("KZGIS_PYTHONPATH"):
        run_env["PYTHONPATH"] = run_env["KZGIS_PYTHONPATH"]
    run_env.setdefault("PYTHONIOENCODING", "utf-8")
    return run_env


def run_kzgis(python: str, recipe_path: Path, out_dir: Path, *,
              on_line: Callable[[str], None] | None = None,
              on_progress: Callable[[float], None] | None = None,
              cancelled: Callable[[], bool] | None = None,
              n_steps: int = 1, env: dict | None = None) -> dict:
    """Run ``python -m kzgis -v run RECIPE --out OUT --quiet``; stream its log lines.

    Returns the run's ``summary.json`` as a dict. Raises :class:`KzgisRunError` with kzgis's own
    error message (never a traceback) when the run fails or is cancelled.
    """
    cmd = [python, "-m", "kzgis", "-v", "run", str(recipe_path), "--out", str(out_dir), "--quiet"]
    run_env = kzgis_env(env)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                encoding="utf-8", errors="replace", env=run_env)
    except OSError as exc:
        raise KzgisRunError(f"could not start kzgis with '{python}': {exc.strerror or exc}")
    errors: list[str] = []
    others: list[str] = []
    done = 0
    total = max(n_steps, 1) + 2  # layers + analyses + outputs
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        if on_line:
            on_line(line)
        m = _RUNNING.search(line)
        if m:
            done += 1
            if on_progress:
                on_progress(min(100.0, 100.0 * done / total))
        if line.startswith("kzgis: error: "):
            errors.append(line[len("kzgis: error: "):])
        elif errors and line.strip() and not re.match(r"^(INFO|WARNING|DEBUG|ERROR) ", line):
            errors[-1] += "\n" + line  # the rest of a multi-line kzgis message
        elif line.startswith("kzgis: ") and " done in " not in line:
            others.append(line[len("kzgis: "):])
        if cancelled and cancelled():
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise KzgisRunError("cancelled: kzgis was stopped; the previous output folder is untouched")
    proc.stdout.close()
    rc = proc.wait()
    if rc != 0:
        msg = errors[-1] if errors else others[-1] if others else f"kzgis exited with code {rc}; see {Path(out_dir) / 'kzgis.log'}"
        raise KzgisRunError(msg)
    if on_progress:
        on_progress(100.0)
    summary = Path(out_dir) / "summary.json"
    if not summary.exists():
        raise KzgisRunError(f"kzgis finished but wrote no {summary}")
    result = json.loads(summary.read_text(encoding="utf-8"))
    if not result.get("ran"):
        why = "; ".join(result.get("skipped", {}).values()) or "no analysis in the recipe"
        raise KzgisRunError(f"nothing was computed: {why}")
    return result


def write_styles(python: str, out_dir: Path, env: dict | None = None) -> dict:
    """Ask kzgis to write QGIS styles (QML) for the run's result layers; returns {layer: qml path}."""
    cmd = [python, "-m", "kzgis.qgis_styles", str(out_dir)]
    res = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace",
                         env=kzgis_env(env))
    if res.returncode != 0:
        raise KzgisRunError(f"kzgis could not write the QGIS styles: {res.stderr.strip().splitlines()[-1:]}")
    index = Path(out_dir) / "qgis" / "styles.json"
    return json.loads(index.read_text(encoding="utf-8")) if index.exists() else {}


if __name__ == "__main__":  # pragma: no cover - manual check: python runner.py
    print(find_python())
    sys.exit(0)
