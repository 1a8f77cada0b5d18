"""The MNIST IDX reader: files written here from known arrays read back exactly, each fault is
one DataError naming the file, and the real files match the facts in their README."""

import gzip
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from experiments.data.events import DataError
from experiments.data.mnist import load_mnist, mnist_files
from tests import ROOT

MNIST = ROOT.parent / "shared" / "data" / "mnist"
NAMES = {  # (images, labels) of each split, as in the original distribution
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _idx(array: np.ndarray, magic: int) -> bytes:
    """``array`` in the IDX format, written with struct rather than the reader's own code."""
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _digits(n: int = 7, rows: int = 5, columns: int = 3, seed: int = 0):
    """Random images (deliberately not 28 x 28, so the shape must come from the header)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, columns), dtype=np.uint8)
    return images, rng.integers(0, 10, size=n, dtype=np.uint8)


def _folder(root: Path, split: str = "train", suffix: str = "", dotted: bool = False, n: int = 7):
    """A folder holding one split's images and labels files; returns it and the arrays."""
    root.mkdir(exist_ok=True)
    images, labels = _digits(n)
    image_name, label_name = NAMES[split]
    if dotted:  # the variant some mirrors use: train-images.idx3-ubyte
        image_name, label_name = (name.replace("-idx", ".idx") for name in (image_name, label_name))
    _write(root / (image_name + suffix), _idx(images, 2051))
    _write(root / (label_name + suffix), _idx(labels, 2049))
    return root, images, labels


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dotted", [False, True])
def test_written_files_read_back_exactly(split, suffix, dotted, tmp_path):
    folder, images, labels = _folder(tmp_path / "mnist", split, suffix, dotted)
    files = mnist_files(folder, split)
    assert files.count == 7
    assert files.images.name.endswith("idx3-ubyte" + suffix)
    assert files.labels.name.endswith("idx1-ubyte" + suffix)
    read_images, read_labels = load_mnist(folder, split)
    assert read_images.dtype == np.uint8 and read_labels.dtype == np.uint8
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    first_images, first_labels = load_mnist(folder, split, limit=3)
    np.testing.assert_array_equal(first_images, images[:3])
    np.testing.assert_array_equal(first_labels, labels[:3])


def test_the_raw_file_is_preferred_to_the_gzip_one(tmp_path):
    folder, images, labels = _folder(tmp_path / "mnist", suffix="")
    _write(folder / "train-images-idx3-ubyte.gz", _idx(255 - images, 2051))
    _write(folder / "train-labels-idx1-ubyte.gz", _idx(9 - labels, 2049))
    assert mnist_files(folder).images == folder / "train-images-idx3-ubyte"
    read_images, read_labels = load_mnist(folder)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)


def test_a_limit_reads_only_the_start_of_a_gzip_stream(tmp_path):
    """A stream cut after its first examples still gives them: a limit decompresses no further."""
    folder, images, _ = _folder(tmp_path / "mnist", suffix=".gz", n=400)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    first_images, _ = load_mnist(folder, limit=10)
    np.testing.assert_array_equal(first_images, images[:10])
    with pytest.raises(DataError, match=f"^{re.escape(str(path))} is truncated or corrupt"):
        load_mnist(folder)


def _gzip_in_place(raw: Path, damage=lambda packed: packed) -> Path:
    """Replace ``raw`` by its gzip file, damaged by ``damage`` (bytes -> bytes)."""
    packed = raw.with_name(raw.name + ".gz")
    packed.write_bytes(damage(gzip.compress(raw.read_bytes())))
    raw.unlink()
    return packed


def _flip(offset: int):
    return lambda data: data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


def _break(folder: Path, fault: str) -> Path:
    """Break a folder written by ``_folder`` in one way; returns the path the message names."""
    images, labels = (folder / name for name in NAMES["train"])
    match fault:
        case "no folder":
            shutil.rmtree(folder)
            return folder
        case "no images file":
            images.unlink()
            return folder
        case "no labels file":
            labels.unlink()
            return folder
        case "labels magic in images file":
            images.write_bytes(labels.read_bytes())
            return images
        case "images magic in labels file":
            labels.write_bytes(images.read_bytes())
            return labels
        case "gzip data without .gz":
            images.write_bytes(gzip.compress(images.read_bytes()))
            return images
        case "raw file cut short":
            images.write_bytes(images.read_bytes()[:-1])
            return images
        case "header cut short":
            labels.write_bytes(labels.read_bytes()[:6])
            return labels
        case "empty raw file":
            images.write_bytes(b"")
            return images
        case "empty gzip file":
            return _gzip_in_place(images, lambda packed: b"")
        case "not gzip data":
            return images.rename(images.with_name(images.name + ".gz"))
        case "invalid deflate block":  # byte 10 starts the deflate data: block type 3 is void
            return _gzip_in_place(images, _flip(10))
        case "gzip trailer cut short":
            return _gzip_in_place(labels, lambda packed: packed[:-4])
        case "gzip CRC wrong":
            return _gzip_in_place(labels, _flip(-8))
        case "gzip body shorter than header":
            labels.write_bytes(_idx(np.arange(7), 2049)[:-2])
            return _gzip_in_place(labels)
        case "counts differ":
            labels.write_bytes(_idx(np.arange(6), 2049))
            return images
        case "label 10":
            labels.write_bytes(_idx(np.array([1, 2, 3, 10, 4, 5, 6]), 2049))
            return labels
    raise AssertionError(f"no such fault: {fault}")


# (fault, whether the header-only layout check sees it, the message after the path it names)
FAULTS = [
    (
        "no folder",
        True,
        r"does not exist; point dataset_folder at a folder holding the four "
        r"MNIST IDX files",
    ),
    (
        "no images file",
        True,
        r"has no MNIST train images file \(looked for train-images-idx3-"
        r"ubyte, train-images\.idx3-ubyte, train-images-idx3-ubyte\.gz, train-images\.idx3-ubyte"
        r"\.gz\); point dataset_folder at a folder holding the four MNIST IDX files",
    ),
    ("no labels file", True, r"has no MNIST train labels file \(looked for train-labels-idx1-"),
    (
        "labels magic in images file",
        True,
        r"has magic number 2049, not 2051 \(IDX images\); "
        r"it is an IDX labels file",
    ),
    ("images magic in labels file", True, r"has magic number 2051, not 2049 \(IDX labels\)"),
    ("gzip data without .gz", True, r"has magic number \d+, not 2051 .*give it a \.gz suffix"),
    (
        "raw file cut short",
        True,
        r"is truncated: it has 120 bytes, its header promises 121; "
        r"re-copy or re-download the file",
    ),
    ("header cut short", True, r"is truncated: it holds 2 of the 4 bytes of the header"),
    ("empty raw file", True, r"is truncated: it holds 0 of the 4 bytes of the magic number"),
    ("empty gzip file", True, r"is truncated: it holds 0 of the 4 bytes of the magic number"),
    ("not gzip data", True, r"is truncated or corrupt \(Not a gzipped file"),
    ("invalid deflate block", True, r"is truncated or corrupt \(.*invalid block type"),
    ("gzip trailer cut short", False, r"is truncated or corrupt \(Compressed file ended"),
    ("gzip CRC wrong", False, r"is truncated or corrupt \(CRC check failed"),
    (
        "gzip body shorter than header",
        False,
        r"is truncated: it holds 5 of the 7 bytes of 7 "
        r"labels",
    ),
    ("counts differ", True, r"holds 7 images but \S+train-labels-idx1-ubyte holds 6 labels"),
    (
        "label 10",
        False,
        r"is mislabelled: example 3 \(counting from 0\) has label 10, not a "
        r"digit 0-9",
    ),
]


@pytest.mark.parametrize("fault, at_layout, message", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_one_line_naming_the_file(fault, at_layout, message, tmp_path):
    folder, _, _ = _folder(tmp_path / "mnist")
    pattern = f"{re.escape(str(_break(folder, fault)))} {message}"
    if at_layout:
        with pytest.raises(DataError, match=pattern):
            mnist_files(folder)
    else:  # only reading the body finds it: the layout check reads headers alone
        assert mnist_files(folder).count == 7
    with pytest.raises(DataError, match=pattern) as refused:
        load_mnist(folder)
    assert "\n" not in str(refused.value)


def test_a_limit_beyond_the_examples_says_how_many_there_are(tmp_path):
    folder, _, _ = _folder(tmp_path / "mnist")
    path = re.escape(str(folder / "train-images-idx3-ubyte"))
    with pytest.raises(DataError, match=f"^limit=8 examples asked of {path}, which holds 7; "):
        load_mnist(folder, limit=8)
    assert load_mnist(folder, limit=7)[0].shape == (7, 5, 3)


def test_an_unknown_split_is_refused(tmp_path):
    folder, _, _ = _folder(tmp_path / "mnist")
    with pytest.raises(DataError, match="unknown split 'validation'; choose train or test"):
        load_mnist(folder, "validation")


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"the real MNIST files are not at {MNIST}")
def test_the_real_files_match_their_readme():
    assert mnist_files(MNIST, "train").count == 60_000
    assert mnist_files(MNIST, "test").count == 10_000
    train_images, train_labels = load_mnist(MNIST, "train")
    assert train_images.shape == (60_000, 28, 28)
    assert np.bincount(train_labels).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert round(train_images.mean() / 255, 4) == 0.1307
    assert train_labels[0] == 5
    first_image, first_label = load_mnist(MNIST, "train", limit=1)
    np.testing.assert_array_equal(first_image[0], train_images[0])
    assert first_label.tolist() == [5]
    _, test_labels = load_mnist(MNIST, "test")
    assert np.bincount(test_labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
