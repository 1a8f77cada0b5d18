"""``stdplab sweep``: a grid of parameters and seeds, with one compile per network structure.

    stdplab sweep neuron_comparison lif.tau_m=10*ms,20*ms,40*ms --seeds 3
    stdplab sweep song_stdp input_rate_hz=10,15,20 --seeds 5 --workers 2
    stdplab sweep timing_learning c_reg=0,0.05 --cluster tcp://scheduler:8786

An axis is ``NAME=V1,V2,...``: ``MODEL.PARAM`` (as ``--set``) or a config field (as
``--config``). Each point of the grid is an ordinary run, stored where ``stdplab run`` stores
it (``results/<experiment>/<label of its config>/``), so a point already there — from this
sweep interrupted, another sweep or a single run — is not run again.

The points are split into one task per worker, each with its own build folder; the points of
one seed stay in one task unless ``--spread`` is given, and local workers take turns to
compile (make already compiles on every core). In a task the first run compiles; each later
one rebuilds its network in Python and, where it differs from the compiled one in values only,
runs the compiled binary with those values as run_args (``experiments.runner.reuse``), else rebuilds
(make recompiles what changed). So a grid of parameter values costs one compile per seed.
Each task runs in its own Python process (a fresh Brian2 state; a crash ends that process
only), on local cores or as a task of a Dask distributed cluster whose workers see the same
results folder. A failed run is recorded with its error and the others go on. The sweep ends
with a tidy table (one row per run: parameters, seed, how the binary was obtained, metrics)
and a figure of a metric over the grid, in ``results/sweeps/<experiment>-<label>/``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from experiments.runner.configs import UsageError, build_config

EXIT_RUNS_FAILED = 4
_POLL_S = 2.0


@dataclass(frozen=True)
class Axis:
    name: str  # 'lif.tau_m' (a model parameter) or a config field
    values: tuple[str, ...]

    @property
    def is_model_parameter(self) -> bool:
        return "." in self.name


def split_values(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes: ``(1,2),(3,4)`` is two."""
    values, depth, quote, start = [], 0, None, 0
    for k, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:k].strip())
            start = k + 1
    values.append(text[start:].strip())
    return values


def parse_axis(text: str) -> Axis:

    name, sep, values = text.partition("=")
    name = name.strip()
    items = split_values(values) if sep else []
    if not name or not items or any(not item for item in items):
        raise UsageError(
            f"a sweep axis is NAME=V1,V2,... (e.g. lif.tau_m=10*ms,20*ms or duration_s=1,2); "
            f"got {text!r}"
        )
    if name == "seed":
        raise UsageError("seeds are not an axis; use --seeds N (and --seed for the first)")
    if len(set(items)) != len(items):
        raise UsageError(f"axis {name} repeats a value: {', '.join(items)}")
    return Axis(name, tuple(items))


@dataclass(frozen=True)
class Point:
    """One run of the grid."""

    index: int
    assignment: tuple[tuple[str, str], ...]  # (axis name, value), in axis order
    seed: int
    config: object  # the experiment's Config
    label: str
    scale: str  # as stored in metrics.json

    @property
    def title(self) -> str:
        return " ".join(
            [*(f"{name}={value}" for name, value in self.assignment), f"seed={self.seed}"]
        )


def expand(module, scale: str, axes: list[Axis], seeds: list[int], device: str, fixed: dict):
    """Every point of the grid, checked as ``stdplab run`` checks one (nothing is built), in
    the order that lets a worker reuse its binary most: the seed outermost (another seed
    usually means other input arrays, so a rebuild), then config fields, model parameters
    innermost (values, so run_args)."""
    from experiments.runner.configs import checked
    from experiments.runner.harness import config_record
    from experiments.runner.results import config_label

    fixed_names = {text.partition("=")[0].strip() for text in fixed["sets"] + fixed["config"]}
    for axis in axes:
        if axis.name in fixed_names:
            raise UsageError(f"{axis.name} is both a sweep axis and fixed by --set/--config")
    if len({axis.name for axis in axes}) != len(axes):
        raise UsageError("each axis may appear once")
    config_axes = [a for a in axes if not a.is_model_parameter]
    model_axes = [a for a in axes if a.is_model_parameter]
    points = []
    for seed in seeds:
        for outer in itertools.product(*(a.values for a in config_axes)):
            for inner in itertools.product(*(a.values for a in model_axes)):
                chosen = dict(zip([a.name for a in config_axes], outer, strict=True))
                chosen.update(zip([a.name for a in model_axes], inner, strict=True))
                config = build_config(
                    module,
                    scale,
                    seed=seed,
                    neurons=fixed["neurons"],
                    sets=fixed["sets"] + [f"{a.name}={chosen[a.name]}" for a in model_axes],
                    config_values=fixed["config"]
                    + [f"{a.name}={chosen[a.name]}" for a in config_axes],
                )
                config = checked(module, config)
                module.check(config)
                points.append(
                    Point(
                        index=len(points),
                        assignment=tuple((a.name, chosen[a.name]) for a in axes),
                        seed=seed,
                        config=config,
                        label=config_label(config_record(config, device)),
                        scale=scale if config == module.SCALES[scale] else f"{scale}, modified",
                    )
                )
    if len({p.label for p in points}) != len(points):
        raise UsageError("two points of the grid are the same run; check the axes")
    return points


def is_done(results_root: Path, experiment: str, label: str) -> bool:
    """A result counts only once whole and readable: ``write_result`` renames it into place
    complete, and a folder damaged since (a truncated ``data.npz``, a missing file) is run
    again rather than trusted."""
    from analysis.figures import is_whole

    return is_whole(results_root / experiment / label)


def structure_key(point: Point) -> int:
    """What splits a grid over workers: the seed. Another seed nearly always means another
    network for Brian2 (``seed()`` in ``main()``, other input arrays), so seeds run in
    parallel; parameter values, model or config, usually go through run_args, so they stay on
    the worker that compiled (a config field that changes the network is rebuilt there)."""
    return point.seed


def tasks_for(points: list[Point], workers: int, spread: bool = False) -> list[list[Point]]:
    """The points of each worker. By default the points of one seed stay on one worker, which
    compiles once and reuses the binary for the others; ``spread`` splits them over every
    worker (a compile per worker), which pays off only where simulations outlast compiles
    (benchmarks/README.md)."""
    if spread:
        return chunks(points, workers)
    groups = [list(group) for _, group in itertools.groupby(points, key=structure_key)]
    return [[p for group in part for p in group] for part in chunks(groups, workers)]


def chunks(points: list, n: int) -> list[list]:
    """``points`` in ``n`` contiguous, near-equal parts (fewer if there are fewer points)."""
    n = max(1, min(n, len(points)))
    size, extra = divmod(len(points), n)
    parts, start = [], 0
    for k in range(n):
        stop = start + size + (k < extra)
        parts.append(points[start:stop])
        start = stop
    return [part for part in parts if part]


# -- one task: a worker's share, run in its own Python process -------------------------------


def run_task(spec: dict) -> list[dict]:
    """Run ``spec``'s points in a new Python process (``python -m experiments.runner.sweep``) and
    return one outcome per point. Runs in a thread of this process, or on a Dask worker.

    The process's temporary files (the task's own, and the debug logs Brian2 keeps when a
    process dies) go to the worker's build folder, beside its ``sweep.log``, never to the
    system's temporary folder."""
    build_root = Path(spec["build_root"])
    log = build_root / "sweep.log"
    temporary = build_root / "tmp"
    temporary.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="task-", dir=temporary) as scratch:
        spec_path, outcomes_path = Path(scratch) / "task.json", Path(scratch) / "outcomes.json"
        spec_path.write_text(json.dumps(spec))
        with open(log, "a") as output:
            finished = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "experiments.runner.sweep",
                    str(spec_path),
                    str(outcomes_path),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TMPDIR": str(temporary)},
                check=False,
            )
        outcomes = json.loads(outcomes_path.read_text()) if outcomes_path.exists() else []
    reported = {outcome["label"] for outcome in outcomes}
    for point in spec["points"]:
        if point["label"] not in reported:
            outcomes.append(
                {
                    "label": point["label"],
                    "status": "failed",
                    "error": f"the worker process ended with status {finished.returncode} "
                    f"before this run finished; its output is in {log}",
                }
            )
    return outcomes


def _run_points(spec: dict, outcomes_path: Path) -> None:
    """The worker process: every point of ``spec`` in turn, sharing one compiled project."""
    from experiments import get_experiment
    from experiments.runner.devices import claimed_build_dir

    module = get_experiment(spec["experiment"])
    device = spec["device"]
    if device == "runtime":
        _run_points_in(spec, module, None, outcomes_path)
        return
    # Held for the whole task: another process building here between two of its runs would
    # replace the binary that the next run reuses.
    with claimed_build_dir(Path(spec["build_root"]) / module.NAME / device) as build_dir:
        _run_points_in(spec, module, build_dir, outcomes_path)


def _run_points_in(spec: dict, module, build_dir: Path | None, outcomes_path: Path) -> None:
    from experiments.runner import harness
    from experiments.runner.configs import checked
    from experiments.runner.progress import Progress
    from experiments.runner.results import config_label
    from experiments.runner.reuse import CompiledProject

    device = spec["device"]

    def fresh_project():
        if device != "cpp_standalone":
            return None
        return CompiledProject(build_dir, compile_lock=spec.get("compile_lock"))

    project, outcomes = fresh_project(), []
    for point in spec["points"]:
        started = time.perf_counter()
        try:
            config = checked(module, module.Config(**point["config"]))
            if config_label(harness.config_record(config, device)) != point["label"]:
                raise RuntimeError("this worker reads the config differently (another version?)")
            directory = harness.run(
                module,
                config,
                device=device,
                results_root=spec["results_root"],
                build_root=spec["build_root"],
                threads=spec["threads"],
                runtime_target=spec["runtime_target"],
                scale=point["scale"],
                project=project,
                progress=Progress(quiet=spec.get("quiet", False)),
            )
            record = json.loads((directory / "metrics.json").read_text())["provenance"]
            outcome = {"label": point["label"], "status": "done", "build": record["build"]}
        except Exception as err:  # reported in the table; the next point goes on
            traceback.print_exc()
            outcome = {"label": point["label"], "status": "failed", "error": _one_line(err)}
            project = fresh_project()  # a failed build may have left the project half-made
        outcome["seconds"] = round(time.perf_counter() - started, 3)
        outcomes.append(outcome)
        _write_json_atomic(outcomes_path, outcomes)
        print(
            f"stdplab: sweep run {point['index'] + 1}/{spec['total']} ({point['title']}): "
            f"{outcome['status']} in {outcome['seconds']:.1f} s"
            + (f" [{outcome['build']}]" if outcome.get("build") else ""),
            flush=True,
        )


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _write_json_atomic(path: Path, payload) -> None:
    from analysis.report import write_atomic

    write_atomic(path, json.dumps(payload, indent=1))


# -- the whole sweep -------------------------------------------------------------------------


@dataclass
class Sweep:
    experiment: str
    scale: str
    device: str
    axes: list[Axis]
    seeds: list[int]
    fixed: dict  # neurons, sets, config: the command line's fixed changes
    results_root: Path
    build_root: Path
    threads: int | str = 1  # or devices.AUTO_THREADS
    runtime_target: str = "cython"
    workers: int = 1
    cluster: str | None = None
    metrics: tuple[str, ...] = ()
    spread: bool = False  # split one seed's points over the workers too
    quiet: bool = False  # no progress lines in the workers' logs

    def label(self) -> str:
        from experiments.runner.results import config_label

        return config_label(
            {
                "experiment": self.experiment,
                "scale": self.scale,
                "device": self.device,
                "axes": [[a.name, list(a.values)] for a in self.axes],
                "seeds": self.seeds,
                "fixed": self.fixed,
            }
        )

    def output_dir(self) -> Path:
        return self.results_root / "sweeps" / f"{self.experiment}-{self.label()}"


def _executor(cluster: str | None, workers: int):
    """(executor, number of parallel tasks, closer): local threads, each driving one worker
    process, or a Dask distributed client's executor."""

    if cluster is None:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        return pool, workers, lambda: pool.shutdown(wait=True, cancel_futures=True)
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "--cluster needs Dask's distributed package: pip install 'stdplab[cluster]'"
        ) from None
    try:
        client = Client(cluster, timeout="5s")
    except (OSError, TimeoutError) as err:
        raise UsageError(
            f"cannot reach the Dask scheduler at {cluster} ({_one_line(err)}); start one with "
            f"'dask scheduler' and workers with 'dask worker {cluster} --nthreads 1'"
        ) from None
    slots = workers or sum(client.nthreads().values())
    return client.get_executor(pure=False), max(1, slots), client.close


def run_sweep(sweep: Sweep, points: list[Point], progress=print) -> tuple[Path, int]:
    """Run the points not yet done; write the table and figure; (output folder, failed runs)."""
    from experiments.runner.results import check_writable

    check_writable(sweep.results_root)
    done_before = [p for p in points if is_done(sweep.results_root, sweep.experiment, p.label)]
    pending = [p for p in points if p not in done_before]
    if done_before:
        progress(f"stdplab: sweep: {len(done_before)} of {len(points)} runs already done, kept")
    outcomes = {p.label: {"status": "kept"} for p in done_before}
    if done_before and pending and sweep.metrics:
        # a mistyped --metric is known from the saved runs, before hours of new ones
        from analysis.sweep import flatten_metrics, metric_columns

        saved = [
            flatten_metrics(
                json.loads(
                    (sweep.results_root / sweep.experiment / p.label / "metrics.json").read_text()
                )
            )
            for p in done_before
        ]
        check_metrics(sweep, metric_columns(saved), "nothing was run")
    if pending:
        executor, slots, close = _executor(sweep.cluster, sweep.workers)
        try:
            outcomes.update(_run_pending(sweep, points, pending, executor, slots, progress))
        finally:
            close()
    return write_outputs(sweep, points, outcomes)


def _run_pending(sweep, points, pending, executor, slots, progress) -> dict:
    tasks = []
    for k, part in enumerate(tasks_for(pending, slots, sweep.spread)):
        tasks.append(
            {
                "experiment": sweep.experiment,
                "device": sweep.device,
                "threads": sweep.threads,
                "runtime_target": sweep.runtime_target,
                "results_root": str(sweep.results_root.resolve()),
                # one folder per worker: builds never clash, and a resumed sweep finds its
                # compiled objects again
                "build_root": str((sweep.build_root / "sweeps" / f"worker-{k}").resolve()),
                # local workers compile one at a time (each compile uses every core); on a
                # cluster the workers are other machines
                "compile_lock": None
                if sweep.cluster
                else str((sweep.build_root / "sweeps" / ".compile.lock").resolve()),
                "total": len(points),
                "quiet": sweep.quiet,
                "points": [
                    {
                        "index": p.index,
                        "label": p.label,
                        "title": p.title,
                        "scale": p.scale,
                        "config": json.loads(json.dumps(dataclasses.asdict(p.config))),
                    }
                    for p in part
                ],
            }
        )
    progress(
        f"stdplab: sweep of {sweep.experiment}: {len(pending)} runs in {len(tasks)} "
        f"task{'s' * (len(tasks) != 1)} on {sweep.cluster or 'local cores'} "
        f"(output of each worker: {sweep.build_root / 'sweeps'}/worker-*/sweep.log)"
    )
    futures = {executor.submit(run_task, task): task for task in tasks}
    outcomes, finished = {}, -1
    pending_futures = set(futures)
    while pending_futures:
        completed, pending_futures = concurrent.futures.wait(
            pending_futures, timeout=_POLL_S, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in completed:
            task = futures[future]
            try:
                results = future.result()
            except Exception as err:  # the task itself could not run (e.g. a lost Dask worker)
                results = [
                    {"label": p["label"], "status": "failed", "error": _one_line(err)}
                    for p in task["points"]
                ]
            outcomes.update({outcome["label"]: outcome for outcome in results})
        count = sum(is_done(sweep.results_root, sweep.experiment, p.label) for p in points)
        if count != finished:
            finished = count
            failed = sum(o["status"] == "failed" for o in outcomes.values())
            progress(
                f"stdplab: sweep: {count}/{len(points)} runs done"
                + (f", {failed} failed" if failed else "")
            )
    return outcomes


def write_outputs(sweep: Sweep, points: list[Point], outcomes: dict) -> tuple[Path, int]:
    """The tidy table (``table.csv``), ``sweep.json`` and the figure(s) of the whole grid from
    the saved results, replacing the sweep's folder in one rename."""
    from analysis.sweep import ROW_COLUMNS, flatten_metrics, metric_columns
    from experiments.runner.results import replace_directory

    rows, flattened = [], []
    for point in points:
        outcome = outcomes.get(point.label, {"status": "failed", "error": "not run"})
        row = {
            "run": point.index,
            "label": point.label,
            "status": outcome["status"],
            "build": outcome.get("build") or "",
            "seed": point.seed,
            **dict(point.assignment),
        }
        values = {}
        if outcome["status"] in ("done", "kept"):
            result = sweep.results_root / sweep.experiment / point.label
            metrics = json.loads((result / "metrics.json").read_text())
            row["build"] = metrics["provenance"].get("build") or ""
            values = flatten_metrics(metrics)
        else:
            row["error"] = outcome.get("error", "")
        flattened.append(values)
        rows.append({**row, **values})
    metrics = metric_columns(flattened)
    out = sweep.output_dir()
    check_metrics(sweep, metrics, f"the sweep's earlier table and figures in {out} are untouched")
    columns = [*ROW_COLUMNS, *(a.name for a in sweep.axes), *metrics, "error"]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_outputs(sweep, rows, metrics, columns, staging)
        replace_directory(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    failed = sum(row["status"] == "failed" for row in rows)
    return out, failed


def check_metrics(sweep: Sweep, metrics: list[str], consequence: str) -> None:
    """UsageError for a ``--metric`` that names none of ``metrics``, before anything of the
    sweep's output is replaced."""

    unknown = [m for m in sweep.metrics if m not in metrics]
    if unknown:
        raise UsageError(
            f"no metric {', '.join(unknown)} in the results ({consequence}); the metrics are: "
            f"{', '.join(metrics)}"
        )


def _write_outputs(sweep: Sweep, rows, metrics, columns, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.figures import STYLE
    from analysis.sweep import default_metric, plot_metric, table_csv

    (out / "table.csv").write_text(table_csv(rows, columns))
    failed = [row for row in rows if row["status"] == "failed"]
    chosen = list(sweep.metrics) or [m for m in [default_metric(metrics, rows)] if m]
    summary = {
        "experiment": sweep.experiment,
        "scale": sweep.scale,
        "device": sweep.device,
        "axes": {a.name: list(a.values) for a in sweep.axes},
        "seeds": sweep.seeds,
        "fixed": sweep.fixed,
        "runs": len(rows),
        "failed": [{"run": r["run"], "label": r["label"], "error": r["error"]} for r in failed],
        "builds": dict(Counter(row["build"].partition(":")[0] for row in rows if row["build"])),
        "figures": {},
    }
    with plt.style.context(STYLE):
        for metric in (m for m in chosen if m in metrics):
            fig = plot_metric(
                rows,
                [(a.name, list(a.values)) for a in sweep.axes],
                metric,
                title=f"{sweep.experiment} ({sweep.scale}, {sweep.device})",
            )
            stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in metric)
            for extension in ("png", "pdf"):
                fig.savefig(out / f"{stem}.{extension}")
            plt.close(fig)
            summary["figures"][metric] = f"{stem}.png"
    (out / "sweep.json").write_text(json.dumps(summary, indent=2) + "\n")


def main(argv: list[str]) -> int:
    """``python -m experiments.runner.sweep TASK.json OUTCOMES.json``: the worker process."""
    spec_path, outcomes_path = argv
    spec = json.loads(Path(spec_path).read_text())
    os.environ.setdefault("MPLBACKEND", "Agg")
    _run_points(spec, Path(outcomes_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
