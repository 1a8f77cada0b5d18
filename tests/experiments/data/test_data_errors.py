"""Broken N-MNIST folders: each fault is one DataError naming the file, before any build."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.data import events
from experiments.data.events import DataError
from tests import ROOT

REAL_SUBSET = ROOT.parent / "shared" / "data" / "nmnist-small"
HEADER = "#sample #class"


def _subset_folder(root: Path, n_train: int = 12, n_test: int = 8) -> Path:
    """A folder in the layout of the real subset (``<id>.bs2`` and label files with a header):
    real recordings where the subset is here, else emulated ones in the same format."""
    root.mkdir()
    splits = {"train1K.txt": n_train, "test100.txt": n_test}
    if REAL_SUBSET.is_dir():
        for name, count in splits.items():
            lines = (REAL_SUBSET / name).read_text().splitlines()[: count + 1]
            (root / name).write_text("\n".join(lines) + "\n")
            for line in lines[1:]:
                sample = line.split()[0]
                (root / f"{sample}.bs2").write_bytes((REAL_SUBSET / f"{sample}.bs2").read_bytes())
        return root
    samples, labels = events.emulated_nmnist(n_train + n_test, seed=1)
    first = {"train1K.txt": 1, "test100.txt": 60001}
    k = 0
    for name, count in splits.items():
        rows = [HEADER]
        for sample in range(first[name], first[name] + count):
            events.write_nmnist(root / f"{sample}.bs2", samples[k])
            rows.append(f"{sample}\t{labels[k]}")
            k += 1
        (root / name).write_text("\n".join(rows) + "\n")
    return root


def _replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def test_an_intact_folder_is_read(tmp_path):
    folder = _subset_folder(tmp_path / "nmnist")
    files, labels = events.nmnist_folder_files(folder, "train")
    assert [path.name for path in files[:3]] == ["1.bs2", "2.bs2", "3.bs2"]
    assert len(labels) == 12 and set(labels) <= set(range(10))
    events.check_recordings(files)
    assert len(events.read_nmnist(files[0])) > 0


@pytest.mark.parametrize(
    "fault, message",
    [
        ("header only", "train1K.txt lists no recordings (a header or comments only)"),
        ("word as label", "train1K.txt, line 5: expected '<sample id> <digit>', got '4\\tfive'"),
        ("label 12", "train1K.txt, line 5: label 12 is not a digit 0-9"),
        ("third field", "train1K.txt, line 5: expected '<sample id> <digit>'"),
    ],
)
def test_a_broken_label_file_is_named_with_its_line(fault, message, tmp_path):
    folder = _subset_folder(tmp_path / "nmnist")
    labels = folder / "train1K.txt"
    if fault == "header only":
        labels.write_text(HEADER + "\n")
    else:
        row = {"word as label": "4\tfive", "label 12": "4\t12", "third field": "4\t5\t1"}[fault]
        _replace_line(labels, 5, row)
    with pytest.raises(DataError) as refused:
        events.nmnist_folder_files(folder, "train")
    assert str(labels) in str(refused.value) and message in str(refused.value)


def test_an_empty_or_missing_recording_is_named_before_it_is_read(tmp_path):
    folder = _subset_folder(tmp_path / "nmnist")
    files, _ = events.nmnist_folder_files(folder, "train")
    files[2].write_bytes(b"")
    with pytest.raises(DataError, match=f"{files[2]} is empty"):
        events.check_recordings(files)
    with pytest.raises(DataError, match=f"{files[2]} is empty"):
        events.read_nmnist(files[2])
    files[2].unlink()
    with pytest.raises(DataError, match=f"{files[2]} does not exist"):
        events.check_recordings(files)


def test_the_cli_names_an_empty_recording_and_builds_nothing(tmp_path):
    folder = _subset_folder(tmp_path / "nmnist")
    (folder / "7.bs2").write_bytes(b"")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments",
            "run",
            "event_features",
            "--device",
            "runtime",
            "--runtime-target",
            "numpy",
            "--scale",
            "tiny",
            "--config",
            "dataset=nmnist_folder",
            "--config",
            f"dataset_folder={folder}",
            "--results-dir",
            str(tmp_path / "r"),
            "--build-dir",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"stdplab: error: {folder / '7.bs2'} is empty (0 bytes")
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "r").exists() and not (tmp_path / "b").exists()
