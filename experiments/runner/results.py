"""Results on disk: ``results/<experiment>/<label>/{config.json, data.npz, metrics.json}``.

The label is a hash of the full config (models included), so a changed hypothesis never
overwrites another's result. A result directory appears whole or not at all: it is written
under a temporary name and renamed into place.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

PACKAGE = "stdplab"


class ResultsError(RuntimeError):
    """A results folder that cannot be written; the message names the fix."""


#: What each folder option holds, for the message about a folder that cannot be written.
_FOLDERS = {"--results-dir": "results", "--build-dir": "builds", "--figures-dir": "figures"}


def check_writable(root: str | Path, option: str = "--results-dir") -> None:
    """Fail before any simulation if ``root`` (the folder of ``option``) could not be written
    (missing permission, a read-only file system, a file in its place), rather than after
    it; nothing is created, so a run refused later leaves no empty folder behind."""
    folder = Path(root).absolute()
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise _unwritable(
            folder, NotADirectoryError(errno.ENOTDIR, f"{existing} is a file"), option
        )
    # access() also answers for a read-only mount (EROFS) and, for root, an immutable folder
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _unwritable(folder, PermissionError(errno.EACCES, os.strerror(errno.EACCES)), option)


def _unwritable(folder: Path, err: OSError, option: str = "--results-dir") -> ResultsError:
    return ResultsError(
        f"cannot write {_FOLDERS[option]} to {folder} ({err.strerror or err}); make it "
        f"writable or choose another folder with {option}"
    )


def config_label(config: dict) -> str:
    """Short, stable hash of a JSON-serialisable config."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


#: What ``stdplab figures`` and ``stdplab report`` write into the checkout: regenerating them
#: does not make the code that produced a result differ from its commit.
GENERATED = ("figures/",)


#: The checkout this package runs from, if it is one.
CHECKOUT = Path(__file__).resolve().parents[2]


def git_state(root: Path = CHECKOUT) -> dict:
    """Commit of the checkout at ``root`` (by default the one this package runs from, if it
    is one), and the files that differ from it: changed or untracked, outside ``.gitignore``
    and the generated figures."""

    def git(*args):
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=all")
    if commit is None or status is None:
        return {"git_commit": None, "git_dirty": None}
    changed = [
        line[3:]
        for line in status.splitlines()
        if line[3:] and not line[3:].strip('"').startswith(GENERATED)
    ]
    record = {"git_commit": commit.strip(), "git_dirty": bool(changed)}
    if changed:
        record["git_changes"] = changed[:20]  # the first of them, enough to tell what differs
    return record


def data_fingerprint(folder: str | Path, progress=None) -> dict:
    """A content hash of every file under ``folder``, so a result says which data it saw, not
    only where that data was (a folder's files can be replaced under the same path)."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        return {"path": str(folder), "sha256": None}
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    if progress is not None:
        progress.phase(f"hashing the {len(files)} files of {folder}")
    digest, size = hashlib.sha256(), 0
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
        size += path.stat().st_size
    return {"path": str(folder), "files": len(files), "bytes": size, "sha256": digest.hexdigest()}


def command_line(argv: list[str] | None = None) -> str:
    """The command that made a result, as a user would type it again: ``stdplab ...`` for
    the command-line tool (installed, or as ``python -m experiments``), else the script."""
    argv = sys.argv if argv is None else argv
    entry = Path(argv[0]) if argv else Path("python")
    module = entry.name == "__main__.py" and entry.parent.name == "experiments"
    if entry.name == "stdplab" or module:
        return shlex.join(["stdplab", *argv[1:]])
    return shlex.join(["python", *argv])


def provenance(device: str, seed: int, threads: int = 1) -> dict:
    return {
        "package": PACKAGE,
        "package_version": _version(PACKAGE),
        "brian2": _version("brian2"),
        "brian2cuda": _version("brian2cuda"),
        "numpy": _version("numpy"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "device": device,
        "openmp_threads": threads,
        "seed": seed,
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command_line(),
        **git_state(),
    }


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a result's JSON")


def _write_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def replace_directory(staging: Path, target: Path) -> None:
    """Put the finished folder ``staging`` (a sibling of ``target``) in ``target``'s place in
    one rename, so that a reader sees the old folder or the new one, never a mixture."""
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would hide results from a shared group
    for file in staging.rglob("*"):
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
    if not target.exists():
        os.replace(staging, target)
        return
    # Move the old folder aside first: rename cannot replace a non-empty directory.
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, retired / "old")
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired / "old", target)  # the earlier folder back in place
        retired.rmdir()
        raise
    shutil.rmtree(retired)


def write_result(
    root: str | Path,
    experiment: str,
    config: dict,
    arrays: dict[str, np.ndarray],
    metrics: dict,
    provenance_record: dict,
) -> Path:
    """Write one result atomically and return its directory; on failure nothing is left
    behind and an earlier result under the same label is untouched."""
    parent = Path(root) / experiment
    target = parent / config_label(config)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    except OSError as err:
        raise _unwritable(parent, err) from None
    try:
        _write_json(staging / "config.json", {"experiment": experiment, **config})
        np.savez_compressed(staging / "data.npz", **arrays)
        _write_json(staging / "metrics.json", {**metrics, "provenance": provenance_record})
        replace_directory(staging, target)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ResultsError(
            f"could not write the result {target} ({err.strerror or err}); nothing was kept and "
            "earlier results are untouched. Free space or choose another --results-dir"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
