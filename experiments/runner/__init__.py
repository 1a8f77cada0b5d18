"""How an experiment is run: the CLI and sweeps, the device (the only place that picks one),
atomic results and their reuse, progress and the check for non-finite state."""
