"""Tests, one folder per package they test; tests of promises that span packages sit here."""

from pathlib import Path

#: the repository root
ROOT = Path(__file__).resolve().parents[1]
