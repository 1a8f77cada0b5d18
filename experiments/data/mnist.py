"""MNIST handwritten digits, read from the four IDX files of the original distribution.

Source: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner (1998), "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11):2278-2324, doi:10.1109/5.726791; the files are those
of LeCun & Cortes's MNIST database, which stdplab never downloads or copies: it reads them from
a folder the user names (for validation, ``../shared/data/mnist`` next to the repository).

IDX format: a big-endian header, the magic number (2051 for images, 2049 for labels) and then
one 32-bit size per dimension (images: count, rows, columns; labels: count), followed by the
raw uint8 bytes, row-major. Each file may be raw or gzip-compressed (``.gz``).
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from experiments.data.events import DataError

#: kind -> (magic number, number of dimensions)
IDX_KINDS = {"images": (2051, 3), "labels": (2049, 1)}
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
SOURCE_HINT = (
    "point dataset_folder at a folder holding the four MNIST IDX files "
    "(LeCun & Cortes's MNIST database, raw or .gz)"
)


class MnistFiles(NamedTuple):
    images: Path
    labels: Path
    count: int


def candidate_names(split: str, kind: str) -> list[str]:
    """File names of ``kind`` in ``split``, in the order they are preferred: an uncompressed
    file before a gzip one (it is faster to read and was most likely unpacked on purpose), the
    original hyphenated name before the dotted variant (``train-images.idx3-ubyte``)."""
    prefix, ndim = SPLIT_PREFIX[split], IDX_KINDS[kind][1]
    names = [f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"]
    return names + [f"{name}.gz" for name in names]


def mnist_files(folder: str | Path, split: str = "train") -> MnistFiles:
    """The images and labels files of ``split`` and their number of examples, from the
    headers alone: the layout check that can run before anything is built. A raw file shorter
    than its header promises is refused here from its size; a gzip file's length is known only
    by decompressing it, so its body is checked as it is read."""
    folder = Path(folder)
    if split not in SPLIT_PREFIX:
        raise DataError(f"unknown split {split!r}; choose train or test")
    if not folder.is_dir():
        raise DataError(f"MNIST folder {folder} does not exist; {SOURCE_HINT}")
    paths, counts = {}, {}
    for kind in IDX_KINDS:
        names = candidate_names(split, kind)
        found = [folder / name for name in names if (folder / name).is_file()]
        if not found:
            raise DataError(
                f"{folder} has no MNIST {split} {kind} file (looked for {', '.join(names)}); "
                f"{SOURCE_HINT}"
            )
        paths[kind] = found[0]
        with _open(found[0]) as stream:
            dims = _read_header(stream, found[0], kind)
        if found[0].suffix != ".gz":
            _check_raw_size(found[0], dims)
        counts[kind] = dims[0]
    if counts["images"] != counts["labels"]:
        raise DataError(
            f"{paths['images']} holds {counts['images']} images but {paths['labels']} holds "
            f"{counts['labels']} labels; they are not a pair, re-copy both"
        )
    return MnistFiles(paths["images"], paths["labels"], counts["images"])


def load_mnist(
    folder: str | Path, split: str = "train", limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of ``split``: uint8 arrays of shape (n, rows, columns) and (n,), with
    rows and columns from the header (28 x 28 for MNIST). ``limit`` keeps the first ``limit``
    examples, and only their bytes are read (a gzip file is decompressed up to them)."""
    images_path, labels_path, count = mnist_files(folder, split)
    if limit is not None and not 0 <= limit <= count:
        raise DataError(
            f"limit={limit} examples asked of {images_path}, which holds {count}; "
            f"ask for 0 to {count} (or no limit)"
        )
    n = count if limit is None else limit
    (_, rows, columns), body = _read_idx(images_path, "images", n)
    images = np.frombuffer(body, dtype=np.uint8).reshape(n, rows, columns)
    labels = np.frombuffer(_read_idx(labels_path, "labels", n)[1], dtype=np.uint8)
    wrong = np.flatnonzero(labels > 9)
    if wrong.size:
        raise DataError(
            f"{labels_path} is mislabelled: example {wrong[0]} (counting from 0) has label "
            f"{labels[wrong[0]]}, not a digit 0-9 ({wrong.size} such labels); re-copy the file"
        )
    return images, labels


def _open(path: Path) -> IO[bytes]:
    # GzipFile decompresses only as far as it is read, so a limit reads a prefix of the stream.
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _read_idx(path: Path, kind: str, n: int) -> tuple[tuple[int, ...], bytearray]:
    """The header's dimensions and the bytes of the first ``n`` examples of an IDX file."""
    with _open(path) as stream:
        dims = _read_header(stream, path, kind)
        body = _read_exactly(stream, n * math.prod(dims[1:]), path, f"{n} {kind}")
        if n == dims[0] and path.suffix == ".gz":
            # Only at the end of the stream does gzip check its CRC and length.
            with _gzip_errors(path):
                stream.read()
    return dims, body


@contextmanager
def _gzip_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        # from None: the gzip traceback adds nothing to the one line that names the file.
        raise DataError(
            f"{path} is truncated or corrupt ({error}); re-copy or re-download the file"
        ) from None


def _read_exactly(stream: IO[bytes], size: int, path: Path, what: str) -> bytearray:
    # A bytearray, so that the arrays numpy views it as are writable.
    data = bytearray(size)
    with _gzip_errors(path):
        got = stream.readinto(data)
    if got < size:
        raise DataError(
            f"{path} is truncated: it holds {got} of the {size} bytes of {what}; "
            "re-copy or re-download the file"
        )
    return data


def _read_header(stream: IO[bytes], path: Path, kind: str) -> tuple[int, ...]:
    """The dimensions in the header of an IDX file of ``kind``, leaving ``stream`` at its body."""
    magic, ndim = IDX_KINDS[kind]
    found = int.from_bytes(_read_exactly(stream, 4, path, "the magic number"), "big")
    if found != magic:
        # Name the likely slips: a file of the other kind, or gzip data without its .gz suffix.
        other = {code: name for name, (code, _) in IDX_KINDS.items()}.get(found)
        if other:
            hint = f"it is an IDX {other} file in the place of the {kind} file"
        elif found >> 16 == 0x1F8B:
            hint = "it is gzip-compressed, so give it a .gz suffix"
        else:
            hint = f"it is not an MNIST {kind} file; re-copy or re-download it"
        raise DataError(f"{path} has magic number {found}, not {magic} (IDX {kind}); {hint}")
    sizes = _read_exactly(stream, 4 * ndim, path, "the header")
    return tuple(int(size) for size in np.frombuffer(sizes, dtype=">u4"))


def _check_raw_size(path: Path, dims: tuple[int, ...]) -> None:
    promised = 4 * (1 + len(dims)) + math.prod(dims)
    actual = path.stat().st_size
    if actual < promised:
        raise DataError(
            f"{path} is truncated: it has {actual} bytes, its header promises {promised}; "
            "re-copy or re-download the file"
        )
