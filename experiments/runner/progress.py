"""What a run is doing, one line at a time on stderr, so that a long run is never silent.

Lines are whole lines (no carriage returns or cursor tricks), so they read the same in a
terminal, a log file or a CI console. The compiled binary reports its simulated time through
the same format (``standalone_report``); ``quiet`` silences both.
"""

from __future__ import annotations

import os
import sys
import time

#: Set for the compiled binary when the run is quiet: its report function reads it at run time,
#: so a quiet run and a talkative one run the same generated code (no recompile between them).
QUIET_VARIABLE = "STDPLAB_QUIET"

#: Seconds between two lines of counting or simulated-time progress.
REPORT_PERIOD_S = 10.0


def format_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds + 0.5), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Phase and progress lines for one command; ``quiet`` prints nothing."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream
        self.started = time.perf_counter()
        self._last_count = 0.0

    def _print(self, text: str) -> None:
        if self.quiet:
            return
        elapsed = format_seconds(time.perf_counter() - self.started)
        print(f"stdplab: [{elapsed:>8}] {text}", file=self.stream or sys.stderr, flush=True)

    def phase(self, text: str) -> None:
        """A new phase: generating, compiling, simulating, reading, evaluating, writing."""
        self._last_count = time.perf_counter()
        self._print(text)

    def note(self, text: str) -> None:
        self._print(f"note: {text}")

    def count(self, done: int, total: int, what: str) -> None:
        """``done`` of ``total`` ``what`` (samples, recordings, trials); printed at most every
        ``REPORT_PERIOD_S`` seconds, and at the last one."""
        now = time.perf_counter()
        if done < total and now - self._last_count < REPORT_PERIOD_S:
            return
        self._last_count = now
        self._print(f"{what}: {done}/{total}")

    def simulated(self, simulated_s: float, total_s: float, wall_s: float) -> None:
        """Simulated time against the total, with the wall time left at the rate so far."""
        fraction = simulated_s / total_s if total_s > 0 else 1.0
        left = wall_s * (1 - fraction) / fraction if fraction > 0 else float("nan")
        text = f"simulated {simulated_s:.4g} s of {total_s:.4g} s ({100 * fraction:.0f} %)"
        if 0 < fraction < 1:
            text += f", about {format_seconds(left)} left"
        self._print(text)

    def runtime_report(self, total_s: float):
        """A report function for Brian2's runtime ``Network.run``: progress over every phase of
        a multi-phase run, where Brian2's own report restarts at each phase."""
        first_call = []

        def report(elapsed, completed, start, duration):
            if not first_call:
                first_call.append(time.perf_counter() - float(elapsed))
            if 0 < completed < 1:
                simulated = float(start) + float(completed) * float(duration)
                self.simulated(simulated, total_s, time.perf_counter() - first_call[0])

        return report


def standalone_report(total_s: float) -> str:
    """C++ body of the compiled binary's report function: the simulated time over all phases
    (Brian2 calls it every report period of each ``run``, with that run's start and duration)
    and an estimate of the wall time left, on stderr, unless ``STDPLAB_QUIET`` is set."""
    return f"""
    using clock = std::chrono::steady_clock;
    static const bool quiet = getenv("{QUIET_VARIABLE}") != NULL;
    static const clock::time_point first = clock::now();
    if (quiet || completed <= 0.0 || completed >= 1.0) return;
    const double total = {float(total_s)!r};
    const double wall = std::chrono::duration<double>(clock::now() - first).count();
    const double simulated = start + completed*duration;
    const double fraction = simulated/total;
    std::cerr << "stdplab: [binary] simulated " << simulated << " s of " << total << " s ("
              << (int)(100*fraction) << " %)";
    if (fraction > 0 && fraction < 1)
        std::cerr << ", about " << (int)(wall*(1 - fraction)/fraction + 0.5) << " s left";
    std::cerr << std::endl;
    """


def quiet_environment(quiet: bool) -> dict[str, str]:
    """Environment changes for the compiled binary (see ``QUIET_VARIABLE``)."""
    return {QUIET_VARIABLE: "1"} if quiet else {}


def apply_environment(changes: dict[str, str]):
    """Set ``changes`` in ``os.environ``; return a function that restores the previous values."""
    previous = {key: os.environ.get(key) for key in changes}
    os.environ.update(changes)

    def restore():
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    return restore
