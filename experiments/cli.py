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
import ast
import dataclasses
import sys
import time
from pathlib import Path

from experiments.configs import coerce

EXIT_BAD_INPUT = 2
EXIT_BUILT_NOT_RUN = 3


class UsageError(ValueError):
    """A command-line value that cannot be used; the message names the fix."""


def _parse_assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def build_config(module, scale: str, seed, neurons, sets, config_values):
    """The module's config at ``scale`` with the command line's changes applied."""
    if scale not in module.SCALES:
        raise UsageError(f"unknown scale {scale!r}; choose one of {', '.join(module.SCALES)}")
    config = module.SCALES[scale]
    fields = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for text in config_values:
        key, value = _parse_assignment(text)
        if key not in fields:
            raise UsageError(
                f"{module.NAME} has no config field {key!r}; "
                f"its fields are {', '.join(sorted(fields))}"
            )
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value  # a bare word is a string
        changes[key] = coerce(module, key, parsed)
    if seed is not None:
        changes["seed"] = seed
    if neurons:
        names = tuple(n.strip() for n in neurons.split(",") if n.strip())
        if "neurons" in fields:
            changes["neurons"] = names
        elif "neuron" in fields and len(names) == 1:
            changes["neuron"] = names[0]
        else:
            raise UsageError(
                f"{module.NAME} takes {'one neuron' if 'neuron' in fields else 'no --neuron'}"
            )
    if sets:
        if "overrides" not in fields:
            raise UsageError(f"{module.NAME} takes no model overrides (--set)")
        overrides = []
        for text in sets:
            target, value = _parse_assignment(text)
            model, dot, parameter = target.partition(".")
            if not dot:
                raise UsageError(f"--set needs MODEL.PARAMETER=VALUE, got {text!r}")
            overrides.append((model, parameter, value))
        changes["overrides"] = tuple(overrides)
    return dataclasses.replace(config, **changes)


def _print_targets(result_dir: Path) -> None:
    from analysis.figures import load_result
    from analysis.report import VERDICT, format_value

    _, _, metrics = load_result(result_dir)
    for row in metrics.get("targets", []):
        print(
            f"  [{VERDICT[row['passed']]:>8}] {row['key']}: {row['description']}: "
            f"{format_value(row['measured'])} (reference {format_value(row['reference'])})"
        )


def _run_one(args, name: str, scale: str, **changes) -> Path:
    from experiments import get_experiment, harness

    module = get_experiment(name)
    config = build_config(module, scale, **changes)
    started = time.perf_counter()
    print(f"stdplab: {name} on {args.device} ({scale} scale) ...", flush=True)
    if args.device == "runtime" and scale != "tiny":
        print(
            "stdplab: note: the runtime device steps through Python every time step; at this "
            "scale cpp_standalone is orders of magnitude faster.",
            flush=True,
        )
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
    )
    print(f"stdplab: {name} done in {time.perf_counter() - started:.1f} s -> {result}")
    _print_targets(result)
    return result


def _command_run(args) -> int:
    _run_one(
        args,
        args.experiment,
        args.scale,
        seed=args.seed,
        neurons=args.neuron,
        sets=args.set or [],
        config_values=args.config or [],
    )
    return 0


def _command_sweep(args) -> int:
    import os

    from experiments import get_experiment
    from experiments.sweep import EXIT_RUNS_FAILED, Sweep, expand, parse_axis, run_sweep

    module = get_experiment(args.experiment)
    axes = [parse_axis(text) for text in args.axes]
    if args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1; got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}")
    if args.scale not in module.SCALES:
        raise UsageError(f"unknown scale {args.scale!r}; choose one of {', '.join(module.SCALES)}")
    first = module.SCALES[args.scale].seed if args.seed is None else args.seed
    fixed = {"neurons": args.neuron, "sets": args.set or [], "config": args.config or []}
    seeds = list(range(first, first + args.seeds))
    points = expand(module, args.scale, axes, seeds, args.device, fixed)
    local_workers = max(1, (os.cpu_count() or 1) // max(1, args.threads))
    sweep = Sweep(
        experiment=module.NAME,
        scale=args.scale,
        device=args.device,
        axes=axes,
        seeds=seeds,
        fixed=fixed,
        results_root=args.results_dir,
        build_root=args.build_dir,
        threads=args.threads,
        runtime_target=args.runtime_target,
        workers=args.workers or (0 if args.cluster else local_workers),
        cluster=args.cluster,
        metrics=tuple(args.metric or ()),
        spread=args.spread,
    )
    try:
        out, failed = run_sweep(sweep, points, progress=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print(
            "stdplab: sweep interrupted; the runs that finished are kept, and the same "
            "command resumes from them",
            file=sys.stderr,
        )
        return 130
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
    from experiments import EXPERIMENTS

    results = {
        name: _run_one(args, name, args.scale, seed=None, neurons=None, sets=[], config_values=[])
        for name in EXPERIMENTS
    }
    return _render(args, results)


def _command_report(args) -> int:
    return _render(args, None)


def _command_describe(args) -> int:
    from experiments import EXPERIMENTS, get_experiment
    from experiments.configs import describe_config
    from models.describe import describe, get_record

    if args.model in EXPERIMENTS:
        module = get_experiment(args.model)
        print(f"{module.NAME}: {module.__doc__.splitlines()[0]}\n")
        print(describe_config(module), end="")
    else:
        print(describe(get_record(args.model)), end="")
    return 0


class _HelpWithConfigFields(argparse.Action):
    """-h: the options, then the named experiment's config fields (``run EXPERIMENT -h``)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from experiments import get_experiment
        from experiments.configs import describe_config

        parser.print_help()
        if getattr(namespace, "experiment", None):  # given before -h
            print("\n" + describe_config(get_experiment(namespace.experiment)), end="")
        parser.exit()


def _render(args, results) -> int:
    from analysis.figures import render_all
    from analysis.report import write_atomic
    from models.describe import describe_all

    written = render_all(args.results_dir, args.figures_dir, results)
    models_md = Path(args.figures_dir) / "models.md"
    write_atomic(models_md, describe_all())
    written.append(models_md)
    print("stdplab: wrote " + ", ".join(str(p) for p in written if p.suffix != ".pdf"))
    return 0


def _parser() -> argparse.ArgumentParser:
    from experiments import EXPERIMENTS
    from experiments.devices import DEVICES

    parser = argparse.ArgumentParser(
        prog="stdplab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub, simulate=True):
        sub.add_argument(
            "--results-dir",
            default="results",
            type=Path,
            help="where results are saved and read: results/<experiment>/<label>/ (default "
            "results)",
        )
        sub.add_argument(
            "--figures-dir",
            default="figures",
            type=Path,
            help="where figures, REPORT.md and models.md are written (default figures)",
        )
        if simulate:
            sub.add_argument(
                "--device",
                default="cpp_standalone",
                choices=DEVICES,
                help="Brian2 device (default cpp_standalone; cuda_standalone needs brian2cuda "
                "and a GPU to run)",
            )
            sub.add_argument("--scale", default="quick", help="tiny, quick (default) or paper")
            sub.add_argument(
                "--build-dir",
                default="build",
                type=Path,
                help="compiled projects, one stable folder per experiment and device",
            )
            sub.add_argument(
                "--threads",
                type=int,
                default=1,
                help="OpenMP threads (standalone); 2 pays off from about 10^6 synapses, "
                "below that one thread is faster (benchmarks/README.md)",
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
    common(figures)
    figures.set_defaults(handler=_command_figures)

    report = commands.add_parser("report", help="figures and REPORT.md from saved results only")
    common(report, simulate=False)
    report.set_defaults(handler=_command_report)

    describe = commands.add_parser(
        "describe",
        help="a model's equations, parameters, citation; or an experiment's config fields",
    )
    describe.add_argument(
        "model",
        metavar="NAME",
        help="a model (lif, izhikevich:FS, pair_stdp, lif_eprop, ...) "
        "or an experiment (song_stdp, ...)",
    )
    describe.set_defaults(handler=_command_describe)
    return parser


def main(argv=None) -> int:
    from experiments.configs import ConfigError
    from experiments.devices import BuiltButNotRun, DeviceError
    from experiments.results import ResultsError
    from models.base import ModelError

    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ModelError, ConfigError, DeviceError, UsageError, ResultsError) as err:
        # one line, however Brian2 formats the cause
        print("stdplab: error: " + " ".join(str(err).split()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except BuiltButNotRun as note:
        print(f"stdplab: {note}", file=sys.stderr)
        return EXIT_BUILT_NOT_RUN
