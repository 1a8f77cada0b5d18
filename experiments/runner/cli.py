"""``stdplab``: run experiments, regenerate figures and the report.

stdplab run plasticity_curves --device cpp_standalone
stdplab run neuron_comparison --neuron lif,izhikevich:FS,stdp_lif --set lif.tau_m=10*ms
stdplab figures                 # every experiment, then every figure and REPORT.md
stdplab report                  # figures and REPORT.md from saved results only
stdplab describe lif            # a model's equations, parameters and citation
stdplab describe song_stdp      # an experiment's config fields: defaults, units, meaning
stdplab sweep neuron_comparison lif.tau_m=10*ms,20*ms,40*ms --seeds 3   # a grid, in parallel
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from analysis.figures import (
    UnreadableResult,
    load_result,
    recomputed_metrics,
    render_all,
    render_figures,
)
from analysis.report import (
    VERDICT,
    format_value,
    publish_section,
    published_heading,
    sections_of,
    write_atomic,
)
from experiments import EXPERIMENTS, get_analysis, get_experiment
from experiments.networks.build import resolve_neuron
from experiments.runner import harness
from experiments.runner.configs import (
    ConfigError,
    UsageError,
    build_config,
    checked,
    describe_config,
    parse_assignment,
)
from experiments.runner.devices import (
    AUTO_THREADS,
    DEVICES,
    BuiltButNotRun,
    DeviceError,
    SimulationFailed,
)
from experiments.runner.harness import config_record
from experiments.runner.nonfinite import NonFiniteState
from experiments.runner.progress import Progress
from experiments.runner.results import ResultsError, check_writable, config_label
from experiments.runner.sweep import EXIT_RUNS_FAILED, Sweep, expand, parse_axis, run_sweep
from models.base import ModelError
from models.describe import describe, describe_all, get_record

EXIT_BAD_INPUT = 2
EXIT_BUILT_NOT_RUN = 3
EXIT_SIMULATION_FAILED = 5  # (4 is a sweep with failed runs)
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C

#: The configuration whose figures and REPORT.md are committed in figures/: every experiment's
#: quick scale, unmodified, compiled with cpp_standalone. Any other goes to its own folder.
REFERENCE_SCALE = "quick"
REFERENCE_DEVICE = "cpp_standalone"


def _print_targets(result_dir: Path) -> None:

    _, _, metrics = load_result(result_dir)
    for row in metrics.get("targets", []):
        print(
            f"  [{VERDICT[row['passed']]:>8}] {row['key']}: {row['description']}: "
            f"{format_value(row['measured'])} (reference {format_value(row['reference'])})"
        )


def _run_one(args, name: str, scale: str, **changes) -> Path:

    module = get_experiment(name)
    config = build_config(module, scale, **changes)
    started = time.perf_counter()
    progress = _progress(args)
    result = harness.run(
        module,
        config,
        device=args.device,
        results_root=args.results_dir,
        build_root=args.build_dir,
        threads=args.threads,
        runtime_target=args.runtime_target,
        # A config changed on the command line is no longer the named scale's.
        scale=scale if config == module.SCALES[scale] else f"{scale}, modified",
        progress=progress,
    )
    print(f"stdplab: {name} done in {time.perf_counter() - started:.1f} s -> {result}")
    _print_targets(result)
    return result


def _progress(args):

    return Progress(quiet=getattr(args, "quiet", False))


def _check_folders(args, *options: str) -> None:
    """Refuse folders that cannot be written before anything is built or simulated."""

    for option in options:
        folder = getattr(args, option.lstrip("-").replace("-", "_"))
        if folder is not None:
            check_writable(folder, option)


def _command_run(args) -> int:
    if args.render_figures is not None:
        check_writable(args.render_figures, "--render-figures")
    result = _run_one(
        args,
        args.experiment,
        args.scale,
        seed=args.seed,
        neurons=args.neuron,
        sets=args.set or [],
        config_values=args.config or [],
    )
    if args.render_figures is not None:
        render_figures(args.experiment, *load_result(result), args.render_figures)
    return 0


def _command_sweep(args) -> int:

    module = get_experiment(args.experiment)
    axes = [parse_axis(text) for text in args.axes]
    if args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1; got {args.seeds}")
    if args.scale not in module.SCALES:
        raise UsageError(f"unknown scale {args.scale!r}; choose one of {', '.join(module.SCALES)}")
    first = module.SCALES[args.scale].seed if args.seed is None else args.seed
    fixed = {"neurons": args.neuron, "sets": args.set or [], "config": args.config or []}
    seeds = list(range(first, first + args.seeds))
    points = expand(module, args.scale, axes, seeds, args.device, fixed)
    if args.cluster is None:  # a cluster's workers build on their own machines
        _check_folders(args, "--build-dir")
    local_workers = _local_workers(args)
    sweep = Sweep(
        experiment=module.NAME,
        scale=args.scale,
        device=args.device,
        axes=axes,
        seeds=seeds,
        fixed=fixed,
        results_root=args.results_dir,
        build_root=args.build_dir,
        threads=args.threads if args.cluster else _threads_beside(args, local_workers),
        runtime_target=args.runtime_target,
        workers=args.workers or (0 if args.cluster else local_workers),
        cluster=args.cluster,
        metrics=tuple(args.metric or ()),
        spread=args.spread,
        quiet=args.quiet,
    )

    def report(line):
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    try:
        out, failed = run_sweep(sweep, points, progress=report)
    except KeyboardInterrupt:
        print(
            "stdplab: sweep interrupted; the runs that finished are kept, and the same "
            "command resumes from them",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(f"stdplab: sweep table and figures in {out}")
    if failed:
        print(
            f"stdplab: {failed} of {len(points)} runs failed (errors in {out / 'table.csv'}); "
            "the same command reruns only them",
            file=sys.stderr,
        )
        return EXIT_RUNS_FAILED
    return 0


def _command_figures(args) -> int:

    _check_scale_everywhere(args.scale)
    figures_dir = _figures_dir(args, f"{args.scale}-{args.device}")
    _check_folders(args, "--results-dir", "--build-dir")
    _check_writable_figures(figures_dir)
    workers = _local_workers(args)
    if workers == 1:
        results = {
            name: _run_one(
                args, name, args.scale, seed=None, neurons=None, sets=[], config_values=[]
            )
            for name in EXPERIMENTS
        }
        return _render(results, figures_dir, _configuration(args.scale, args.device))
    results, failed = _run_experiments_in_parallel(args, workers, figures_dir)
    status = _render(
        results,
        figures_dir,
        _configuration(args.scale, args.device),
        rerun=f"--scale {args.scale} --device {args.device}",
        rendered=frozenset(name for name, result in results.items() if result is not None),
    )
    return failed or status


def _threads(text: str) -> int | str:
    """--threads: a whole number or 'auto'."""
    if text == AUTO_THREADS:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--threads takes a whole number or '{AUTO_THREADS}'; got {text!r}"
        ) from None


def _local_workers(args) -> int:
    """--workers, else as many simulations at once as the cores hold at --threads each
    (auto: one each, the fewest it picks)."""
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}")
    threads = 1 if args.threads == AUTO_THREADS else max(1, args.threads)
    return args.workers or max(1, (os.cpu_count() or 1) // threads)


def _threads_beside(args, workers: int) -> int | str:
    """--threads for each of ``workers`` runs at once on this machine: auto picks one thread
    where the cores leave no second thread to each run."""
    if args.threads == AUTO_THREADS and (os.cpu_count() or 1) // workers < 2:
        return 1
    return args.threads


def _run_experiments_in_parallel(args, workers: int, figures_dir: Path) -> tuple[dict, int]:
    """Every experiment in its own ``stdplab run`` process, ``workers`` at a time, the
    longest first (by its last wall time: its saved result's, else the one the REPORT.md in
    ``figures_dir`` gives it), so the slowest does not start last; each run renders its
    figures into ``figures_dir`` as it ends, while the others go on. Returns
    {experiment: result folder, or None where its run failed} and the first failed run's exit
    status (0 if none failed). Each run's output goes to <build-dir>/logs/<experiment>.log."""

    logs = args.build_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    expected = {name: _reference_result(args, name) for name in EXPERIMENTS}
    reported = _reported_wall_times(figures_dir / "REPORT.md")
    order = sorted(
        EXPERIMENTS,
        key=lambda name: -_last_wall_time(expected[name], reported.get(name, float("inf"))),
    )
    print(
        f"stdplab: {len(order)} experiments, {workers} at a time; each one's output is in "
        f"{logs}/<experiment>.log",
        file=sys.stderr,
    )

    def run(name: str) -> tuple[int, float]:
        command = [
            sys.executable,
            "-m",
            "experiments",
            "run",
            name,
            *("--scale", args.scale, "--device", args.device),
            *("--results-dir", str(args.results_dir), "--build-dir", str(args.build_dir)),
            *("--threads", str(_threads_beside(args, workers))),
            *("--runtime-target", args.runtime_target),
            *("--render-figures", str(figures_dir)),
        ]
        started = time.perf_counter()
        with open(logs / f"{name}.log", "w") as log:
            finished = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
        return finished.returncode, time.perf_counter() - started

    results, failed = {}, 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(run, name): name for name in order}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            status, wall_s = future.result()
            if status == 0:
                print(f"stdplab: {name} done in {wall_s:.1f} s -> {expected[name]}")
                _print_targets(expected[name])
                results[name] = expected[name]
                continue
            if status == EXIT_INTERRUPTED:
                raise KeyboardInterrupt
            last = (logs / f"{name}.log").read_text().strip().splitlines()[-1:] or [""]
            print(
                f"stdplab: {name} failed (exit status {status}): {last[0]} "
                f"(all its output: {logs / f'{name}.log'})",
                file=sys.stderr,
            )
            results[name] = None
            failed = failed or status
    finally:  # on Ctrl-C (which the running children also get) start no further run
        pool.shutdown(wait=True, cancel_futures=True)
    return {name: results[name] for name in EXPERIMENTS}, failed


def _reference_result(args, name: str) -> Path:
    """Where ``stdplab run NAME`` saves the unmodified --scale configuration's result."""
    config = get_experiment(name).SCALES[args.scale]
    return args.results_dir / name / config_label(config_record(config, args.device))


def _last_wall_time(result_dir: Path, otherwise: float) -> float:
    """The saved result's wall time, else ``otherwise``."""
    try:
        return float(json.loads((result_dir / "metrics.json").read_text())["wall_time_s"])
    except (OSError, ValueError, KeyError):
        return otherwise


def _reported_wall_times(report: Path) -> dict[str, float]:
    """{experiment: wall time} of the sections of a REPORT.md (a clean checkout has no saved
    results, but it has the committed report of the reference configuration)."""
    try:
        sections = sections_of(report.read_text())
    except OSError:
        return {}
    times = {}
    for name, text in sections.items():
        found = re.search(r"wall time ([0-9.]+) s", text)
        if found:
            times[name] = float(found.group(1))
    return times


def _check_scale_everywhere(scale: str) -> None:

    for name in EXPERIMENTS:
        if scale not in get_experiment(name).SCALES:
            raise UsageError(f"{name} has no scale {scale!r}; choose tiny, quick or paper")


def _configuration(scale: str, device: str) -> str:
    return f"default configuration ({scale} scale, {device})"


def _figures_dir(args, name: str) -> Path:
    """``--figures-dir`` if given; else figures/ for the reference configuration and
    figures/runs/NAME/ for any other, so the committed figures never show another run."""
    if args.figures_dir is not None:
        return args.figures_dir
    if name == f"{REFERENCE_SCALE}-{REFERENCE_DEVICE}":
        return Path("figures")
    return Path("figures") / "runs" / name


def _check_writable_figures(folder: Path) -> None:

    check_writable(folder, "--figures-dir")


def _command_report(args) -> int:
    """REPORT.md and figures from saved results: by default each experiment's reference
    result; with EXPERIMENT (and --set/--config/...) or --result, that one result alone, in
    its own folder."""

    if args.publish and args.result is None and args.experiment is None:
        raise UsageError("--publish needs EXPERIMENT (with its options) or --result DIR")
    if args.result is not None or args.experiment is not None:
        directory = args.result or _named_result(args)
        name = Path(directory).parent.name
        if args.result is not None and name not in EXPERIMENTS:
            raise UsageError(f"{directory} is not a result folder (results/<experiment>/<label>/)")
        if args.publish:
            return _publish(args, name, Path(directory))
        figures_dir = _figures_dir(args, f"{name}-{Path(directory).name}")
        _check_writable_figures(figures_dir)
        return _render({name: Path(directory)}, figures_dir, f"configuration {directory}")
    _check_scale_everywhere(args.scale)
    figures_dir = _figures_dir(args, f"{args.scale}-{args.device}")
    _check_writable_figures(figures_dir)
    results = {}
    for name in EXPERIMENTS:
        directory = _reference_result(args, name)
        results[name] = directory if directory.exists() else None
    return _render(
        results,
        figures_dir,
        _configuration(args.scale, args.device),
        rerun=f"--scale {args.scale} --device {args.device}",
    )


def _publish(args, name: str, directory: Path) -> int:
    """A run beside the reference one, e.g. at paper scale: its figures into
    figures/published/<experiment>-<label>/ and its section into figures/REPORT.md, which
    every later report keeps."""

    root = args.figures_dir or Path("figures")
    folder = root / "published" / f"{name}-{directory.name}"
    _check_writable_figures(root)
    try:
        config, data, saved = load_result(directory)
    except UnreadableResult as err:
        raise UsageError(f"nothing published: {err}") from None
    metrics = recomputed_metrics(get_analysis(name).evaluate, config, data, saved)
    written, _ = render_all(
        {name: directory}, folder, formats=("png",), configuration=f"configuration {directory}"
    )
    if args.result is not None:
        recorded = metrics.get("provenance", {}).get("command")
        what = f"result {directory.name}"
        command = f"`{recorded}`" if recorded else f"(result folder {directory})"
    else:
        options = " ".join(
            [f"--seed {args.seed}"] * (args.seed is not None)
            + [f"--neuron {args.neuron}"] * (args.neuron is not None)
            + [f"--set {value}" for value in args.set or []]
            + [f"--config {value}" for value in args.config or []]
        )
        what = f"{args.scale} scale{', ' + options if options else ''} (result {directory.name})"
        command = f"`stdplab run {name} --scale {args.scale} --device {args.device}"
        command += f" {options}`" if options else "`"
    figures = ", ".join(
        f"[{path.stem}]({path.relative_to(root)})" for path in written if path.suffix == ".png"
    )
    publish_section(
        root / "REPORT.md",
        published_heading(name, what),
        metrics,
        f"Command: {command}. Figures: {figures}.",
    )
    print(f"stdplab: published {directory} in {root / 'REPORT.md'} and {folder}")
    return 0


def _named_result(args) -> Path:
    """The saved result of the configuration the command line names."""

    module = get_experiment(args.experiment)
    config = checked(
        module,
        build_config(
            module,
            args.scale,
            seed=args.seed,
            neurons=args.neuron,
            sets=args.set or [],
            config_values=args.config or [],
        ),
    )
    directory = args.results_dir / module.NAME / config_label(config_record(config, args.device))
    if not directory.exists():
        raise UsageError(
            f"no saved result of this configuration of {module.NAME} on {args.device} "
            f"({directory}); run it first with stdplab run and the same options"
        )
    return directory


def _command_describe(args) -> int:

    if Path(args.model, "config.json").is_file():
        print(_describe_result(Path(args.model)), end="")
    elif args.model in EXPERIMENTS:
        module = get_experiment(args.model)
        print(f"{module.NAME}: {module.__doc__.splitlines()[0]}\n")
        print(describe_config(module), end="")
    else:
        record = get_record(args.model)
        for text in args.set or []:
            target, value = parse_assignment(text)
            model, _, key = target.partition(".")
            described = args.model.partition(":")[0]
            if model != described or not key:
                raise UsageError(
                    f"describing {args.model}: --set needs {described}.PARAMETER=VALUE, got "
                    f"{text!r}"
                )
            record = _changed(record, key, value)
        print(describe(record), end="")
    return 0


def _changed(record, key: str, value: str):
    """``record`` with one --set change: a parameter, 'equation' or 'initial.VARIABLE'."""
    if key == "equation":
        return record.with_equation(value)
    if key.startswith("initial."):
        return record.with_initial(**{key.removeprefix("initial."): value})
    return record.with_params(**{key: value})


def _describe_result(directory: Path) -> str:
    """What a saved result ran: its experiment, device and seed, each config field that differs
    from its scale's default, and every neuron model as it ran, overrides applied."""

    try:
        config = json.loads((directory / "config.json").read_text())
        module = get_experiment(config["experiment"])
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"{directory} is not a readable result folder ({err})") from None
    metrics_file = directory / "metrics.json"
    scale = json.loads(metrics_file.read_text()).get("scale") if metrics_file.exists() else None
    base = (scale or "").split(",")[0]  # "tiny, modified": tiny with changes
    base = base if base in module.SCALES else "quick"
    defaults = dataclasses.asdict(module.SCALES[base])
    lines = [
        f"result {directory.name} of {module.NAME}: device {config.get('device')}, seed "
        f"{config.get('seed')}, scale {scale or 'unknown'}",
        f"config fields that differ from the {base} scale's defaults:",
    ]
    differ = [
        key for key, value in defaults.items() if key in config and _as_json(value) != config[key]
    ]
    lines += [f"  {key} = {config[key]!r}" for key in differ] or ["  (none)"]
    names = config.get("neurons") or ([config["neuron"]] if config.get("neuron") else [])
    overrides = tuple(tuple(override) for override in config.get("overrides", ()))
    text = "\n".join(lines) + "\n"
    for name in names:
        text += "\n" + describe(resolve_neuron(name, overrides))
    return text


def _as_json(value):
    """``value`` as config.json holds it (tuples as lists)."""

    return json.loads(json.dumps(value))


class _HelpWithConfigFields(argparse.Action):
    """-h: the options, then the named experiment's config fields (``run EXPERIMENT -h``)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):

        parser.print_help()
        if getattr(namespace, "experiment", None):  # given before -h
            print("\n" + describe_config(get_experiment(namespace.experiment)), end="")
        parser.exit()


def _render(
    results: dict,
    figures_dir: Path,
    configuration: str,
    rerun: str = "",
    rendered: frozenset[str] = frozenset(),
) -> int:
    """Figures, REPORT.md and models.md; ``rendered``: as ``render_all`` takes it."""
    written, kept = render_all(results, figures_dir, configuration=configuration, rendered=rendered)
    for name, why in kept.items():
        print(
            f"stdplab: {name}: {why}; its figures and REPORT.md section are kept as they were"
            + (f" (stdplab run {name} {rerun} measures it)" if rerun else ""),
            file=sys.stderr,
        )
    models_md = figures_dir / "models.md"
    write_atomic(models_md, describe_all())
    written.append(models_md)
    print("stdplab: wrote " + ", ".join(str(p) for p in written if p.suffix != ".pdf"))
    return 0


def _parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(
        prog="stdplab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub, simulate=True, figures=False):
        sub.add_argument(
            "--results-dir",
            default="results",
            type=Path,
            help="where results are saved and read: results/<experiment>/<label>/ (default "
            "results)",
        )
        if figures:
            sub.add_argument(
                "--figures-dir",
                type=Path,
                help="where figures, REPORT.md and models.md are written (default: figures/ for "
                f"the reference configuration, {REFERENCE_SCALE} scale on {REFERENCE_DEVICE}; "
                "figures/runs/<name>/ for any other, so the committed figures never change)",
            )
        sub.add_argument(
            "--device",
            default=REFERENCE_DEVICE,
            choices=DEVICES,
            help="Brian2 device (default cpp_standalone; cuda_standalone needs brian2cuda "
            "and a GPU to run)",
        )
        sub.add_argument("--scale", default=REFERENCE_SCALE, help="tiny, quick (default) or paper")
        sub.add_argument(
            "--quiet", action="store_true", help="print no progress, only results and errors"
        )
        if simulate:
            sub.add_argument(
                "--build-dir",
                default="build",
                type=Path,
                help="compiled projects, one stable folder per experiment and device (a run "
                "that finds its folder in use by another builds in a sibling folder)",
            )
            sub.add_argument(
                "--threads",
                type=_threads,
                default=AUTO_THREADS,
                help="OpenMP threads (standalone), at most this machine's cores, or 'auto' "
                "(default): chosen from the network's synapses once it is built, 1 below "
                "10^6 and 2 from there, where two pay off (benchmarks/README.md)",
            )
            sub.add_argument(
                "--runtime-target",
                default="cython",
                choices=("cython", "numpy"),
                help="code generation target of the runtime device",
            )

    run = commands.add_parser("run", help="run one experiment and save its result", add_help=False)
    run.add_argument(
        "-h",
        "--help",
        action=_HelpWithConfigFields,
        help="show this help; after EXPERIMENT, also its config fields",
    )
    run.add_argument(
        "experiment",
        choices=EXPERIMENTS,
        metavar="EXPERIMENT",
        help=f"the experiment to run: {', '.join(EXPERIMENTS)}",
    )
    run.add_argument("--seed", type=int, help="the config's seed (default: the scale's)")
    run.add_argument("--neuron", help="neuron model(s), comma-separated, e.g. lif,izhikevich:FS")
    run.add_argument(
        "--set",
        action="append",
        metavar="MODEL.PARAM=VALUE",
        help="override a model parameter, e.g. lif.tau_m=10*ms (repeatable)",
    )
    run.add_argument(
        "--config",
        action="append",
        metavar="FIELD=VALUE",
        help="override an experiment config field, e.g. duration_s=100 (repeatable; "
        "run EXPERIMENT -h lists the fields)",
    )
    run.add_argument(
        "--render-figures",
        type=Path,
        metavar="FOLDER",
        help="also write the result's figures into FOLDER, from the metrics this run just "
        "computed (stdplab figures renders each experiment so, beside the runs still going)",
    )
    common(run)
    run.set_defaults(handler=_command_run)

    sweep = commands.add_parser(
        "sweep",
        help="run a grid of parameters x seeds in parallel; a table and a figure",
        description="Each AXIS is NAME=V1,V2,...: MODEL.PARAM (as --set) or a config field "
        "(as --config). Runs already in --results-dir are kept, so an interrupted sweep "
        "resumes where it stopped.",
        add_help=False,
    )
    sweep.add_argument(
        "-h",
        "--help",
        action=_HelpWithConfigFields,
        help="show this help; after EXPERIMENT, also its config fields",
    )
    sweep.add_argument(
        "experiment",
        choices=EXPERIMENTS,
        metavar="EXPERIMENT",
        help=f"the experiment to sweep: {', '.join(EXPERIMENTS)}",
    )
    sweep.add_argument("axes", nargs="*", metavar="AXIS", help="e.g. lif.tau_m=10*ms,20*ms")
    sweep.add_argument("--seeds", type=int, default=1, help="seeds per point (default 1)")
    sweep.add_argument("--seed", type=int, help="the first seed (default: the scale's)")
    sweep.add_argument("--workers", type=int, help="parallel workers (default: cores/threads)")
    sweep.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run on this Dask distributed scheduler (its workers need this package and the "
        "same results and build folders)",
    )
    sweep.add_argument(
        "--spread",
        action="store_true",
        help="split the points of one seed over the workers too (a compile per worker; pays "
        "off where simulations outlast compiles)",
    )
    sweep.add_argument(
        "--metric",
        action="append",
        help="metric to plot over the grid (repeatable; default: the first target's value)",
    )
    sweep.add_argument("--neuron", help="fixed neuron model(s) for every point")
    sweep.add_argument(
        "--set",
        action="append",
        metavar="MODEL.PARAM=VALUE",
        help="a model parameter fixed for every point, as in run (repeatable)",
    )
    sweep.add_argument(
        "--config",
        action="append",
        metavar="FIELD=VALUE",
        help="a config field fixed for every point, as in run (repeatable)",
    )
    common(sweep)
    sweep.set_defaults(handler=_command_sweep)

    figures = commands.add_parser("figures", help="run every experiment, then figures + report")
    common(figures, figures=True)
    figures.add_argument(
        "--workers",
        type=int,
        help="experiments simulated at once, each in its own process (default: cores/threads)",
    )
    figures.set_defaults(handler=_command_figures)

    report = commands.add_parser("report", help="figures and REPORT.md from saved results only")
    common(report, simulate=False, figures=True)
    report.add_argument(
        "experiment",
        nargs="?",
        choices=EXPERIMENTS,
        metavar="EXPERIMENT",
        help="report this experiment's result of the configuration named by --scale, --device, "
        "--seed, --neuron, --set and --config, in its own folder (default: every "
        "experiment's default configuration)",
    )
    report.add_argument(
        "--result",
        type=Path,
        metavar="DIR",
        help="report this saved result folder (results/<experiment>/<label>), in its own folder",
    )
    report.add_argument("--seed", type=int, help="with EXPERIMENT: the config's seed")
    report.add_argument("--neuron", help="with EXPERIMENT: neuron model(s), as in run")
    report.add_argument(
        "--set", action="append", metavar="MODEL.PARAM=VALUE", help="with EXPERIMENT: as in run"
    )
    report.add_argument(
        "--config", action="append", metavar="FIELD=VALUE", help="with EXPERIMENT: as in run"
    )
    report.add_argument(
        "--publish",
        action="store_true",
        help="with EXPERIMENT or --result: add the run to figures/REPORT.md as its own section "
        "(kept by later reports) and its figures to figures/published/, e.g. a paper-scale run",
    )
    report.set_defaults(handler=_command_report)

    describe = commands.add_parser(
        "describe",
        help="a model's equations, parameters, citation; or an experiment's config fields",
    )
    describe.add_argument(
        "model",
        metavar="NAME",
        help="a model (lif, izhikevich:FS, pair_stdp, lif_eprop, ...), an experiment "
        "(song_stdp, ...) or a saved result folder (results/<experiment>/<label>)",
    )
    describe.add_argument(
        "--set",
        action="append",
        metavar="MODEL.PARAM=VALUE",
        help="describe the model with this change, as run takes it",
    )
    describe.set_defaults(handler=_command_describe)
    return parser


def _parse(argv):
    """The command line; a sweep's axes may also follow its options (argparse takes a list of
    positionals only before them)."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "sweep" and not any(item.startswith("-") for item in extra):
        args.axes = [*args.axes, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv=None) -> int:

    args = _parse(argv)
    try:
        return args.handler(args)
    except (ModelError, ConfigError, DeviceError, UsageError, ResultsError) as err:
        _error(err)
        return EXIT_BAD_INPUT
    except BuiltButNotRun as note:
        print(f"stdplab: {note}", file=sys.stderr)
        return EXIT_BUILT_NOT_RUN
    except (SimulationFailed, NonFiniteState) as err:
        _error(err)
        return EXIT_SIMULATION_FAILED
    except MemoryError as err:  # numpy's says how much it asked for
        _error(
            f"the run needs more memory than this machine can give ({err or 'MemoryError'}); "
            "nothing was written; choose a smaller configuration"
        )
        return EXIT_SIMULATION_FAILED
    except KeyboardInterrupt:
        _silence_unused_object_warnings()
        print(
            "stdplab: interrupted; the run in progress was not saved (an earlier result under "
            "its label is untouched)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def _silence_unused_object_warnings() -> None:
    """Brian2 warns about every object of a network whose run never started when the objects
    are collected; after an interruption that is noise under the one line that matters."""

    logging.getLogger("brian2.core.base.unused_brian_object").setLevel(logging.ERROR)


def _error(err: Exception) -> None:
    _silence_unused_object_warnings()
    # one line, however Brian2 formats the cause
    print("stdplab: error: " + " ".join(str(err).split()), file=sys.stderr)
