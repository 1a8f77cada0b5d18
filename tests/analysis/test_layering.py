"""analysis/ reads results: it imports neither Brian2 nor the model records, so a saved result
can be re-evaluated wherever numpy runs, and nothing in it can build a network."""

import subprocess
import sys

from tests import ROOT


def test_importing_every_analysis_module_loads_neither_brian2_nor_models():
    probe = (
        "import importlib, pkgutil, sys, analysis\n"
        "for module in pkgutil.iter_modules(analysis.__path__):\n"
        "    importlib.import_module('analysis.' + module.name)\n"
        "print(sorted(name for name in ('brian2', 'models', 'experiments') if name in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
