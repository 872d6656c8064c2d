"""Output folders: kzgis never deletes or overwrites what it did not write.

One rule for every command that writes a folder (``kzgis run``, ``kzgis demo``, ``kzgis batch``):

* every folder kzgis writes carries a marker file :data:`MARKER` (``.kzgis-output``) with the run id
  and the list of entries it wrote;
* an existing folder is replaced only when it carries the marker (or is a kzgis output folder from
  before markers: only kzgis file names and a ``summary.json`` naming a kzgis version) and holds
  nothing else. Everything else is refused before any work: ``""``, ``.``, the current folder, the
  home folder, ``/``, the recipe's own folder, a folder that holds an input layer, any parent of
  those, an existing file, and a non-empty folder that kzgis did not write;
* a run writes into a staging folder beside the target (``.NAME.kzgis-tmp-RUNID``, normal
  permissions from the umask) and swaps it into place only when everything succeeded; the previous
  output is moved aside (``.NAME.kzgis-old-RUNID``) for the instant of the swap;
* one run at a time per output folder: an exclusive lock ``.NAME.kzgis-lock`` beside it;
* leftovers of a killed run (kill -9, power loss) are found by the next run on the same folder:
  a previous output moved aside but not replaced is restored, staging folders are removed; look-alike
  folders without the marker are reported and left alone;
* SIGTERM is handled like Ctrl-C (:class:`Terminated` is a ``KeyboardInterrupt``).

Use::

    target = check_output_folder(out, recipe_path=recipe.path, inputs=[s.path for s in sources])
    with OutputFolder(target, recipe_path=..., inputs=...) as folder:
        write_everything(folder.staging)
    # committed here; on an exception the staging folder is removed and the previous output stays

Notes found on the way (restored / removed leftovers) are in ``folder.notes``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from ._errors import OutputError

log = logging.getLogger(__name__)

MARKER = ".kzgis-output"
#: entries a kzgis output folder written before markers existed may hold
LEGACY_NAMES = frozenset({"results.gpkg", "tables.xlsx", "maps", "report", "summary.json", "kzgis.log", "qgis",
                          "results.gpkg-journal", "results.gpkg-wal", "results.gpkg-shm"})
_TMP = "kzgis-tmp-"
_OLD = "kzgis-old-"
_LOCK = "kzgis-lock"
_FIX = "Give --out (or outputs.dir) a new folder, or a folder an earlier kzgis run wrote."


class Terminated(KeyboardInterrupt):
    """SIGTERM received; handled like Ctrl-C."""


# ---------------------------------------------------------------------------------------------
# recognising folders


def read_marker(folder: Path) -> dict | None:
    """The marker of a kzgis output folder, or None when ``folder`` has none."""
    m = Path(folder) / MARKER
    if not m.is_file():
        return None
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def _is_legacy(folder: Path) -> bool:
    """A kzgis output folder from before markers: only kzgis names, summary.json with kzgis_version."""
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    if not names or not names <= LEGACY_NAMES or "summary.json" not in names:
        return False
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(s, dict) and "kzgis_version" in s


def _is_legacy_leftover(folder: Path) -> bool:
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    return names <= LEGACY_NAMES


def foreign_entries(folder: Path) -> list[str]:
    """Entries of a kzgis output folder that kzgis did not write (the user's own files)."""
    marker = read_marker(folder)
    known = set(marker.get("files") or ()) if marker is not None else set()
    known |= LEGACY_NAMES | {MARKER}  # kzgis.qgis_styles adds qgis/ after the run
    return sorted(p.name for p in folder.iterdir() if p.name not in known)


def is_kzgis_folder(folder: Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and (read_marker(folder) is not None or _is_legacy(folder))


# ---------------------------------------------------------------------------------------------
# the rule


def _under(a: Path, b: Path) -> bool:
    """True when ``b`` is ``a`` or inside it."""
    try:
        b.relative_to(a)
        return True
    except ValueError:
        return False


def check_output_folder(out, *, recipe_path=None, inputs: Iterable = (), what: str = "--out") -> Path:
    """Validate an output folder before any work; return it resolved.

    Parameters
    ----------
    out : str or Path
        The folder as the user gave it (``""`` is refused, not read as the current folder).
    recipe_path : Path, optional
        The recipe file; its folder (and any parent of it) is refused.
    inputs : iterable of Path
        Input layer files or folders; a folder holding one (or any parent) is refused.
    what : str
        How the user gave the folder, for messages (``--out``, ``outputs.dir``).

    Raises
    ------
    OutputError
        Naming the path, why it is refused and what to do.
    """
    if out is None or str(out).strip() == "":
        raise OutputError(f"{what} is empty: kzgis will not write into the current folder. {_FIX}")
    raw = str(out)
    target = Path(os.path.abspath(os.path.expanduser(raw)))
    try:
        target = target.resolve()
    except OSError as exc:  # pragma: no cover - resolve(strict=False) rarely fails
        raise OutputError(f"{what} {raw}: {exc.strerror or exc}. {_FIX}") from exc

    def refuse(why: str):
        raise OutputError(f"{what} {target}: refused, {why}; kzgis replaces the whole output folder. {_FIX}")

    if target == Path(target.anchor):
        refuse("it is the root of the file system")
    home = Path.home().resolve()
    if _under(target, home):
        refuse("it is your home folder" if target == home else f"it holds your home folder {home}")
    cwd = Path.cwd().resolve()
    if _under(target, cwd):
        refuse("it is the current folder" if target == cwd else f"it holds the current folder {cwd}")
    if recipe_path is not None:
        rdir = Path(recipe_path).resolve().parent
        if _under(target, rdir):
            refuse(f"it holds the recipe {Path(recipe_path).name}" if target == rdir
                   else f"it holds the recipe's folder {rdir}")
    for p in inputs or ():
        if p is None:
            continue
        p = Path(p).resolve()
        if _under(target, p) or (p.is_dir() and _under(p, target)):
            refuse(f"it holds the input layer {p}")
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            refuse("it is an existing file, not a folder")
        if target.is_symlink():
            refuse("it is a symbolic link")
        try:
            empty = not any(target.iterdir())
        except OSError as exc:
            raise OutputError(f"{what} {target}: cannot be read ({exc.strerror}). {_FIX}") from exc
        if not empty:
            if not is_kzgis_folder(target):
                refuse(f"it is a folder with files that kzgis did not write (no {MARKER} marker)")
            extra = foreign_entries(target)
            if extra:
                shown = ", ".join(extra[:5]) + (f" (+{len(extra) - 5} more)" if len(extra) > 5 else "")
                raise OutputError(f"{what} {target}: refused, this earlier kzgis output folder also holds files "
                                  f"kzgis did not write: {shown}. Move them out of the folder (or give "
                                  "--out another folder); kzgis replaces the whole output folder.")
    return target


# ---------------------------------------------------------------------------------------------
# OS errors in words


def os_error_message(exc: BaseException, where, disk_full: bool = False) -> str | None:
    """A one-line message for a disk-full / permission / name-too-long error, or None.

    ``disk_full=True`` when the caller measured that the disk is full (GDAL's "Failed to commit
    transaction" carries no errno).
    """
    where = Path(where)
    no = getattr(exc, "errno", None)
    text = str(exc)
    if disk_full or no == errno.ENOSPC or "No space left" in text or "database or disk is full" in text:
        free = ""
        with contextlib.suppress(OSError):
            probe = where if where.exists() else where.parent
            free = f" ({shutil.disk_usage(probe).free / 1e6:.0f} MB free)"
        return (f"no space left on device while writing {where}{free}. Free some space or give --out a "
                "folder on another disk; the previous output folder is untouched.")
    if no in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        return (f"permission denied writing {where}: the folder is read-only or belongs to someone else. "
                "Give --out a folder you can write.")
    if no == errno.EROFS:
        return f"cannot write {where}: the disk is read-only. Give --out a folder on a writable disk."
    if no == errno.ENAMETOOLONG:
        return f"cannot write {where}: the file name is too long. Give --out a shorter path."
    if no == errno.EDQUOT:
        return f"disk quota exceeded while writing {where}. Free some space or ask for a larger quota."
    return None


# ---------------------------------------------------------------------------------------------
# SIGTERM like Ctrl-C


@contextlib.contextmanager
def terminate_as_interrupt():
    """While inside, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def _handler(signum, frame):
        raise Terminated("terminated (SIGTERM)")

    try:
        old = signal.signal(signal.SIGTERM, _handler)
    except (ValueError, OSError):  # pragma: no cover - not allowed here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# ---------------------------------------------------------------------------------------------
# the lock


class _Lock:
    def __init__(self, path: Path, target: Path):
        self.path = path
        self.target = target
        self.fd: int | None = None

    def acquire(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            fcntl = None
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                msg = os_error_message(exc, self.path.parent)
                raise OutputError(msg or f"cannot create the lock file {self.path}: {exc}") from exc
            if fcntl is None:  # pragma: no cover
                self.fd = fd
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:
                    other = os.read(fd, 64).decode("ascii", "replace").strip()
                finally:
                    os.close(fd)
                who = f" (pid {other})" if other else ""
                raise OutputError(f"another kzgis run{who} is writing {self.target} right now. Wait for it to "
                                  "finish, or give --out another folder.") from None
            # the file may have been removed by the previous holder between our open and our lock
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self.fd = fd
            return
        raise OutputError(f"cannot lock {self.target}: the lock file {self.path} keeps changing")  # pragma: no cover

    def release(self):
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = None


# ---------------------------------------------------------------------------------------------
# the atomic output folder


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class OutputFolder:
    """Context manager: lock, recover leftovers, stage, and commit an output folder atomically.

    Parameters
    ----------
    out : str or Path
        Target folder (validated with :func:`check_output_folder`).
    recipe_path, inputs, what
        As for :func:`check_output_folder`.
    run_id : str, optional
        Written into the marker (default: a random id).

    Attributes
    ----------
    path : Path
        The target folder.
    staging : Path
        Where to write while inside the ``with`` block (created with the umask's permissions).
    notes : list of str
        Leftovers of killed runs that were restored, removed or left alone.
    committed : bool
    """

    def __init__(self, out, *, recipe_path=None, inputs: Iterable = (), what: str = "--out",
                 run_id: str | None = None):
        self._check = {"recipe_path": recipe_path, "inputs": list(inputs or ()), "what": what}
        self.path = check_output_folder(out, **self._check)
        self.run_id = run_id or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.staging = self.path.parent / f".{self.path.name}.{_TMP}{self.run_id}"
        self.notes: list[str] = []
        self.committed = False
        self._lock = _Lock(self.path.parent / f".{self.path.name}.{_LOCK}", self.path)
        self._signals = None

    # -- enter / exit ---------------------------------------------------------------------------
    def __enter__(self) -> OutputFolder:
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(os_error_message(exc, parent) or f"cannot create {parent}: {exc}") from exc
        self._lock.acquire()
        try:
            self.recover()
            check_output_folder(self.path, **self._check)  # again, under the lock, after recovery
            try:
                os.mkdir(self.staging)  # normal permissions (umask), unlike mkdtemp's 0700
                self._write_marker(self.staging, state="writing")
            except OSError as exc:
                shutil.rmtree(self.staging, ignore_errors=True)
                raise OutputError(os_error_message(exc, self.path)
                                  or f"cannot create the output folder beside {self.path}: {exc}") from exc
            self._signals = terminate_as_interrupt()
            self._signals.__enter__()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and not self.committed:
                self.commit()
        except BaseException:
            self._cleanup()
            raise
        else:
            self._cleanup()
        return False

    def _cleanup(self):
        if not self.committed:
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._signals is not None:
            self._signals.__exit__(None, None, None)
            self._signals = None
        self._lock.release()

    # -- marker, commit ---------------------------------------------------------------------------
    def _write_marker(self, folder: Path, state: str, files=None):
        from . import __version__

        data = {"kzgis_version": __version__, "run_id": self.run_id, "state": state, "created_utc": _now(),
                "note": "written by kzgis; kzgis replaces this folder on the next run into it"}
        if files is not None:
            data["files"] = sorted(files)
        (folder / MARKER).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    def commit(self):
        """Swap the staging folder into place (the previous output is removed only after that)."""
        if self.committed:
            return
        files = [p.name for p in self.staging.iterdir() if p.name != MARKER]
        try:
            self._write_marker(self.staging, state="complete", files=files)
        except OSError as exc:
            raise OutputError(os_error_message(exc, self.path) or f"cannot write {self.path}: {exc}") from exc
        # the user may have put files into the old folder while we ran
        check_output_folder(self.path, **self._check)
        old = None
        if self.path.exists():
            old = self.path.parent / f".{self.path.name}.{_OLD}{self.run_id}"
            self.path.rename(old)
        try:
            self.staging.rename(self.path)
        except BaseException:
            if old is not None:
                old.rename(self.path)
            raise
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    # -- leftovers of killed runs ---------------------------------------------------------------
    def leftovers(self) -> tuple[list[Path], list[Path]]:
        """(staging folders, moved-aside previous outputs) beside the target, from any run."""
        parent = self.path.parent
        stem = f".{self.path.name}."
        tmps, olds = [], []
        if not parent.is_dir():
            return tmps, olds
        for p in parent.iterdir():
            n = p.name
            if not n.startswith(stem) or p == self.staging:
                continue
            rest = n[len(stem):]
            if rest.startswith((_TMP, "tmp-")):
                tmps.append(p)
            elif rest.startswith((_OLD, "old-")):
                olds.append(p)
        return sorted(tmps), sorted(olds, key=lambda p: p.stat().st_mtime)

    def recover(self):
        """Restore a previous output left aside by a killed run; remove our staging leftovers."""
        tmps, olds = self.leftovers()

        def ours(p: Path) -> bool:
            if p.is_symlink() or not p.is_dir():
                return False
            return read_marker(p) is not None or _is_legacy_leftover(p)

        for p in tmps + olds:
            if not ours(p):
                self.notes.append(f"{p} looks like a leftover of a kzgis run but was not written by kzgis; "
                                  "left alone")
        olds = [p for p in olds if ours(p)]
        if olds and not self.path.exists():
            keep = olds.pop()  # the newest
            keep.rename(self.path)
            self.notes.append(f"restored the previous output {self.path} that an interrupted run had moved "
                              f"aside ({keep.name})")
        for p in [p for p in tmps if ours(p)] + olds:
            shutil.rmtree(p, ignore_errors=True)
            self.notes.append(f"removed {p.name}, left behind by an interrupted kzgis run")
        for n in self.notes:
            log.warning(n)
