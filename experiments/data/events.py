"""Event-camera data: the N-MNIST file format, an emulator of its recordings, and loaders.

The default data ships with the dependencies: scikit-learn's handwritten digits, made to look
like MNIST and turned into N-MNIST-format event streams by a saccading DVS model (the
project's data notes, data.md §5), written and read in the real 40-bit format. Real datasets
come from a folder the user names (the N-MNIST layouts, or through tonic); nothing is ever
downloaded by default. Events are structured arrays of ``EVENT_DTYPE`` with t in µs.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from models.base import ModelError

EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
SENSOR = (34, 34)  # (width, height) of N-MNIST
OVERFLOW_Y = 240  # a record with this y marks a timestamp overflow of 2**13 µs
TONIC_DATASETS = ("NMNIST", "DVSGesture", "CIFAR10DVS")


class DataError(ModelError):
    """Data that is missing, corrupt or out of range; the message names the file and the fix."""


# --- the 40-bit N-MNIST format -------------------------------------------------------------


def write_nmnist(path: str | Path, events: np.ndarray) -> None:
    """Write ``events`` in the N-MNIST format (5 bytes per event, no header), atomically."""
    path = Path(path)
    x, y, t, p = (np.asarray(events[key], dtype=np.int64) for key in ("x", "y", "t", "p"))
    problems = [
        (np.any((t < 0) | (t >= 2**23)), "t outside [0, 2**23) µs"),
        (np.any((x < 0) | (x > 255) | (y < 0) | (y > 255)), "x or y outside [0, 255]"),
        (np.any(y == OVERFLOW_Y), f"y = {OVERFLOW_Y} (reserved for timestamp overflow)"),
        (np.any((p != 0) & (p != 1)), "p not 0 or 1"),
    ]
    for bad, what in problems:
        if bad:
            raise DataError(f"cannot write {path} in the N-MNIST format: {what}")
    record = np.stack(
        [x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF], axis=1
    ).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(record.tobytes())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def read_nmnist(path: str | Path, sensor_size: tuple[int, int] = SENSOR) -> np.ndarray:
    """Events of one N-MNIST-format file (``.bin`` or ``.bs2``), sorted by time."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"event file {path} does not exist; check the dataset folder")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise _empty(path)
    if raw.size % 5:
        raise DataError(
            f"{path} is corrupt: truncated record ({raw.size} bytes is not a whole number of "
            "5-byte events); re-copy or re-download the file"
        )
    record = raw.reshape(-1, 5).astype(np.int64)
    x, y = record[:, 0], record[:, 1]
    t = (record[:, 2] & 0x7F) << 16 | record[:, 3] << 8 | record[:, 4]
    overflow = y == OVERFLOW_Y
    t = t + np.cumsum(overflow) * 2**13  # as the dataset's own reader does
    events = np.zeros(int((~overflow).sum()), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"] = x[~overflow], y[~overflow], t[~overflow]
    events["p"] = record[~overflow, 2] >> 7
    outside = (events["x"] >= sensor_size[0]) | (events["y"] >= sensor_size[1])
    if outside.any():
        raise DataError(
            f"{path}: {int(outside.sum())} events lie outside the {sensor_size[0]}x"
            f"{sensor_size[1]} sensor; is this file from another dataset (give its sensor size)?"
        )
    return events[np.argsort(events["t"], kind="stable")]


def _empty(path: Path) -> DataError:
    return DataError(f"{path} is empty (0 bytes, no events); re-copy or re-download the file")


def check_recordings(files: list[Path]) -> None:
    """DataError for the first of ``files`` that is missing or empty: what the file system
    tells without reading, so a run is refused before anything is built. (A truncated file
    is named when it is read, so a sweep reports it as one failed run and goes on.)"""
    for path in files:
        if not path.is_file():
            raise DataError(f"event file {path} does not exist; check the dataset folder")
        if path.stat().st_size == 0:
            raise _empty(path)


def bin_events(
    events: np.ndarray, dt_us: int, sensor_size: tuple[int, int] = SENSOR
) -> tuple[np.ndarray, np.ndarray]:
    """(input neuron, time step) of each event, one pair per neuron and step: duplicates in
    one step are merged (a Brian2 SpikeGeneratorGroup refuses two spikes of one neuron in one
    step). Neuron index = p W H + y W + x: the OFF channel first, then ON."""
    width, height = sensor_size
    neuron = events["p"] * width * height + events["y"] * width + events["x"]
    step = events["t"] // dt_us
    pairs = np.unique(np.stack([step, neuron], axis=1), axis=0)
    return pairs[:, 1], pairs[:, 0]


# --- emulator: static digit -> saccading DVS recording --------------------------------------

SACCADES = (  # (start ms, displacement (x, y) px), each a 90 ms minimum-jerk movement
    (0.0, (3.5, 7.0)),
    (105.0, (3.5, -7.0)),
    (215.0, (-7.0, 0.0)),
)
SACCADE_MS = 90.0
RECORDING_US = 320_000


def digits_as_mnist(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits made MNIST-like: 0..255, bilinear to 20x20, padded to
    28x28 and centred by centre of mass. (images (n, 28, 28), labels)."""
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images[:n], digits.target[:n]
    out = np.zeros((len(images), 28, 28))
    for k, image in enumerate(images):
        small = np.clip(ndimage.zoom(image * 255 / 16, 20 / 8, order=1), 0, 255)
        canvas = np.zeros((28, 28))
        canvas[4:24, 4:24] = small
        row, col = ndimage.center_of_mass(canvas)
        out[k] = np.clip(ndimage.shift(canvas, (13.5 - row, 13.5 - col), order=1), 0, 255)
    return out, labels


def saccade_path(t_ms: np.ndarray) -> np.ndarray:
    """Displacement (x, y) in px of the image at each time (the N-MNIST triangle)."""
    displacement = np.zeros((len(t_ms), 2))
    for start, (dx, dy) in SACCADES:
        tau = np.clip((t_ms - start) / SACCADE_MS, 0, 1)
        profile = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
        displacement += profile[:, None] * np.array([dx, dy])
    return displacement


def emulate_saccades(image: np.ndarray, rng: np.random.Generator, **settings) -> np.ndarray:
    """An N-MNIST-like recording of one 28x28 image (see ``emulate_batch``)."""
    return emulate_batch(image[None], [rng], **settings)[0]


def translated_scenes(scenes: np.ndarray, black: float, path: np.ndarray) -> Iterator[np.ndarray]:
    """The sensor's view of each scene (n, 28, 28) at each displacement of ``path``, as
    (n, height, width) arrays: MNIST pixel (0, 0) sits at sensor (-1, +1) at zero
    displacement. A translation shifts every pixel by the same fraction, so bilinear
    interpolation is four weighted slices of the scenes padded with ``black`` (the scene
    blends into the black surround at its edge). Each step overwrites the array it yields."""
    width, height = SENSOR
    pad = max(SENSOR) + int(np.ceil(np.abs(path).max())) + 2
    padded = np.pad(scenes, ((0, 0), (pad, pad), (pad, pad)), constant_values=black)
    view, term = np.empty((2, len(scenes), height, width))
    for dx, dy in path:
        row, col = -1 - dy, 1 - dx  # scene coordinates of sensor pixel (0, 0)
        r0, c0 = int(np.floor(row)), int(np.floor(col))
        fr, fc = row - r0, col - c0
        corner = padded[:, pad + r0 : pad + r0 + height + 1, pad + c0 : pad + c0 + width + 1]
        np.multiply(corner[:, :-1, :-1], (1 - fr) * (1 - fc), out=view)
        for (r, c), weight in (((1, 0), fr * (1 - fc)), ((0, 1), (1 - fr) * fc), ((1, 1), fr * fc)):
            view += np.multiply(corner[:, r : r + height, c : c + width], weight, out=term)
        yield view


def emulate_batch(
    images: np.ndarray,
    rngs: list[np.random.Generator],
    contrast: float = 0.30,
    black: float = 0.20,
    blur: float = 0.8,
    noise_hz: float = 0.4,
    step_us: int = 200,
    refractory_us: int = 1000,
    jitter_us: float = 100.0,
) -> list[np.ndarray]:
    """N-MNIST-like recordings of 28x28 images (data.md §5), image k drawing its randomness
    from ``rngs[k]`` only, so a recording does not depend on the batch it was emulated in:
    log-intensity pixels with per-pixel thresholds, at most one event per refractory period,
    N-MNIST polarity. The images share the saccade path, so each step is one array operation
    over the whole batch."""
    from scipy import ndimage

    width, height = SENSOR
    scenes = black + (1 - black) * ndimage.gaussian_filter(
        np.asarray(images, dtype=float) / 255.0, (0, blur, blur)
    )
    times_us = np.arange(0, RECORDING_US, step_us)
    views = translated_scenes(scenes, black, saccade_path(times_us / 1000.0))
    before = np.log(next(views))
    threshold = np.empty_like(before)
    reference = np.empty_like(before)
    for k, rng in enumerate(rngs):
        threshold[k] = np.clip(rng.normal(contrast, 0.03, (height, width)), 0.05, None)
        reference[k] = before[k] + rng.uniform(-0.5, 0.5, (height, width)) * threshold[k]
    blocked_until = np.full(before.shape, -np.inf)
    found = []
    for k, view in enumerate(views, start=1):
        now = np.log(view)
        change = now - reference
        fire = np.abs(change) >= threshold
        fire &= times_us[k] >= blocked_until
        where = np.flatnonzero(fire)
        if where.size:
            change_at, threshold_at = change.flat[where], threshold.flat[where]
            crossings = np.floor(np.abs(change_at) / threshold_at)
            sign = np.sign(change_at)
            # time of the first threshold crossing within the step, by linear interpolation
            start = before.flat[where] - reference.flat[where]
            fraction = np.clip(
                (sign * threshold_at - start) / (now.flat[where] - before.flat[where] + 1e-12), 0, 1
            )
            t = times_us[k - 1] + fraction * step_us
            sample, y, x = np.unravel_index(where, fire.shape)
            found.append(np.stack([sample, x, y, t, sign > 0], axis=1))
            reference.flat[where] += sign * crossings * threshold_at
            blocked_until.flat[where] = t + refractory_us
        before = now
    emitted = np.concatenate(found) if found else np.zeros((0, 5))
    # per image: its events in time order of the steps, row-major within a step
    emitted = emitted[np.argsort(emitted[:, 0], kind="stable")]
    bounds = np.searchsorted(emitted[:, 0], np.arange(len(rngs) + 1))
    recordings = []
    for k, rng in enumerate(rngs):
        own = emitted[bounds[k] : bounds[k + 1], 1:]
        n_noise = rng.poisson(noise_hz * width * height * RECORDING_US * 1e-6)
        noise = np.stack(
            [
                rng.integers(0, width, n_noise),
                rng.integers(0, height, n_noise),
                rng.uniform(0, RECORDING_US, n_noise),
                rng.integers(0, 2, n_noise),
            ],
            axis=1,
        )
        all_events = np.concatenate([own, noise])
        events = np.zeros(len(all_events), dtype=EVENT_DTYPE)
        events["x"], events["y"] = all_events[:, 0], all_events[:, 1]
        jittered = all_events[:, 2] + rng.normal(0, jitter_us, len(all_events))
        events["t"] = np.clip(np.round(jittered), 0, RECORDING_US - 1)
        events["p"] = 1 - all_events[:, 3]  # N-MNIST: ON lies on the trailing edge of white strokes
        recordings.append(events[np.argsort(events["t"], kind="stable")])
    return recordings


EMULATOR_VERSION = 2  # bump when the emulator's output changes: cached samples are keyed by it
#: Images emulated together (each step is one array operation over them); measured on 2 cores
#: with an 8 MiB cache: 46 ms per digit at 32, 69 ms at 256 (the arrays outgrow the cache).
EMULATOR_BATCH = 32


def emulated_nmnist(
    n_samples: int,
    seed: int,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    **emulator,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Emulated recordings of the first ``n_samples`` embedded digits (see ``emulate_images``;
    digit k is sample k)."""
    images, labels = digits_as_mnist(n_samples)
    if len(images) < n_samples:
        raise DataError(f"the embedded digits hold {len(images)} samples, not {n_samples}")
    return emulate_images(images, range(n_samples), seed, cache_dir, progress, **emulator), labels


def emulate_images(
    images: np.ndarray,
    sample_numbers,
    seed: int,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    **emulator,
) -> list[np.ndarray]:
    """Emulated recordings of 28x28 images (0..255). Image k uses the generator
    ``default_rng([seed, sample_numbers[k]])``, so any sample can be regenerated alone. With
    ``cache_dir``, each recording is kept there as an N-MNIST file keyed by seed, settings,
    emulator version, sample number and the image's own bytes, and read back on the next call
    instead of being emulated again. ``progress`` is called with (samples done, samples)."""
    cache = None
    if cache_dir is not None:
        settings = ",".join(f"{key}={emulator[key]!r}" for key in sorted(emulator))
        key = f"v{EMULATOR_VERSION}-seed{seed}-" + hashlib.sha256(settings.encode()).hexdigest()[:8]
        cache = Path(cache_dir) / "emulated_nmnist" / key
    paths = [None] * len(images)
    if cache is not None:
        for k, image in enumerate(images):
            image_key = hashlib.sha256(np.ascontiguousarray(image, dtype=float).tobytes())
            paths[k] = cache / f"{sample_numbers[k]}-{image_key.hexdigest()[:12]}.bin"
    samples = [read_nmnist(path) if path and path.exists() else None for path in paths]
    missing = [k for k, sample in enumerate(samples) if sample is None]
    for first in range(0, len(missing), EMULATOR_BATCH):
        batch = missing[first : first + EMULATOR_BATCH]
        rngs = [np.random.default_rng([seed, sample_numbers[k]]) for k in batch]
        for k, events in zip(batch, emulate_batch(images[batch], rngs, **emulator), strict=True):
            if paths[k] is not None:
                write_nmnist(paths[k], events)
            samples[k] = events
        if progress is not None:
            progress(len(images) - len(missing) + first + len(batch), len(images))
    return samples


#: N-MNIST numbers its test recordings on from the training ones (test image k is sample
#: TEST_NUMBER_OFFSET + k + 1 in the subset's file names, and its emulation seed's number).
TEST_NUMBER_OFFSET = 60_000


def sample_number(mnist_index: int | np.ndarray, split: str):
    """The number that seeds the emulation of MNIST image ``mnist_index`` of ``split``: its
    index, counted on from the training images for the test split."""
    return mnist_index + (TEST_NUMBER_OFFSET if split == "test" else 0)


def mnist_index(path: str | Path, split: str) -> int:
    """The MNIST image an N-MNIST recording was made from: N-MNIST sample n of a split is
    MNIST image n - 1 of it (test recordings of the subset are numbered on from 60,000)."""
    number = Path(path).stem
    if not number.isdigit() or int(number) < 1:
        raise DataError(
            f"{path}: the file name is not an N-MNIST sample number, so the MNIST image it was "
            "recorded from is unknown; keep the dataset's file names"
        )
    number = int(number)
    if split == "test" and number > TEST_NUMBER_OFFSET:
        return number - TEST_NUMBER_OFFSET - 1
    return number - 1


def recording_profiles(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(events per sensor pixel, both polarities; events per 10 ms bin) of one recording."""
    width, height = SENSOR
    spatial = np.zeros(width * height)
    np.add.at(spatial, events["y"] * width + events["x"], 1)
    temporal = np.bincount(events["t"] // 10_000, minlength=RECORDING_US // 10_000)
    return spatial, temporal[: RECORDING_US // 10_000]


def compare_recordings(real: list[np.ndarray], emulated: list[np.ndarray]) -> dict:
    """Sample-by-sample closeness of emulated recordings to real ones of the same digits:
    per pair, the event counts, ON fractions, and the Pearson correlation of their spatial
    (per-pixel counts) and temporal (10 ms bins) profiles; the same correlations for
    mismatched pairs (real sample k against emulated sample k + 1) are the control that says
    how much of the match is the digit's own rather than any digit's."""

    def correlations(others):
        spatial, temporal = [], []
        for one, other in zip(real, others, strict=True):
            (space_a, time_a), (space_b, time_b) = map(recording_profiles, (one, other))
            spatial.append(np.corrcoef(space_a, space_b)[0, 1])
            temporal.append(np.corrcoef(time_a, time_b)[0, 1])
        return np.array(spatial), np.array(temporal)

    if len(real) != len(emulated) or len(real) < 2:
        raise ValueError("compare_recordings needs two equally long lists of 2 recordings or more")
    spatial, temporal = correlations(emulated)
    spatial_control, temporal_control = correlations(emulated[1:] + emulated[:1])
    return {
        "real_events": np.array([len(events) for events in real]),
        "emulated_events": np.array([len(events) for events in emulated]),
        "real_on_fraction": np.array([events["p"].mean() for events in real]),
        "emulated_on_fraction": np.array([events["p"].mean() for events in emulated]),
        "spatial_r": spatial,
        "temporal_r": temporal,
        "spatial_r_mismatched": spatial_control,
        "temporal_r_mismatched": temporal_control,
    }


# --- real data from a folder -----------------------------------------------------------------


def load_nmnist_folder(
    folder: str | Path,
    split: str = "train",
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Recordings and labels from either N-MNIST layout: the subset's ``<id>.bs2`` files with
    ``train1K.txt`` / ``test100.txt`` labels, or ``Train/<digit>/<id>.bin`` (``Test/...``).
    ``progress`` is called with (recordings read, recordings) after each."""
    files, labels = nmnist_folder_files(folder, split)
    files, labels = files[:limit], labels[:limit]
    recordings = []
    for path in files:
        recordings.append(read_nmnist(path))
        if progress is not None:
            progress(len(recordings), len(files))
    return recordings, np.asarray(labels)


def nmnist_folder_files(folder: str | Path, split: str = "train") -> tuple[list[Path], np.ndarray]:
    """The recording files and labels of ``split`` in an N-MNIST folder, without reading the
    recordings: the layout check that can run before anything is built."""
    folder = Path(folder)
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; choose train or test")
    if not folder.is_dir():
        raise DataError(
            f"dataset folder {folder} does not exist; point dataset_folder at a folder holding "
            "N-MNIST recordings (Train/<digit>/*.bin, or *.bs2 with train1K.txt/test100.txt)"
        )
    label_file = folder / ("train1K.txt" if split == "train" else "test100.txt")
    tree = folder / split.capitalize()
    if label_file.is_file():
        rows = _read_labels(label_file)
        files = [folder / f"{sample}.bs2" for sample, _ in rows]
        labels = [label for _, label in rows]
    elif tree.is_dir():
        files = sorted(tree.glob("[0-9]/*.bin"))
        labels = np.array([int(path.parent.name) for path in files])
    else:
        raise DataError(
            f"{folder} holds neither {label_file.name} with its .bs2 files nor a {tree.name}/ "
            "folder of <digit>/*.bin; point dataset_folder at an N-MNIST folder"
        )
    if not files:
        raise DataError(f"{folder} has no {split} recordings")
    return files, np.asarray(labels)


def _read_labels(label_file: Path) -> list[tuple[int, int]]:
    """(sample id, digit) of each row of an N-MNIST label file (``#`` starts a comment)."""
    rows = []
    text = label_file.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.partition("#")[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not all(re.fullmatch(r"[0-9]+", field) for field in fields):
            raise DataError(
                f"{label_file}, line {number}: expected '<sample id> <digit>', got "
                f"{line.strip()!r}; fix the line or re-copy the file"
            )
        sample, label = int(fields[0]), int(fields[1])
        if label > 9:
            raise DataError(
                f"{label_file}, line {number}: label {label} is not a digit 0-9; fix the line "
                "or re-copy the file"
            )
        rows.append((sample, label))
    if not rows:
        raise DataError(
            f"{label_file} lists no recordings (a header or comments only); re-copy the file"
        )
    return rows


_TONIC_LAYOUT = {  # class name -> (files that must be there, what to tell the user)
    "NMNIST": ("{split}/*/*.bin", "NMNIST/Train/<digit>/*.bin and NMNIST/Test/..."),
    "DVSGesture": ("ibmGesture{split}/*/*.npy", "DVSGesture/ibmGestureTrain/<user>/*.npy"),
    "CIFAR10DVS": ("*/*.aedat4", "CIFAR10DVS/<class>/*.aedat4"),
}


def load_with_tonic(
    folder: str | Path,
    dataset: str = "NMNIST",
    train: bool = True,
    limit: int | None = None,
    download: bool = False,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Recordings through tonic from ``folder/<dataset>/``. The layout is checked first, so a
    missing dataset is a clear error and never a download attempt, unless ``download`` asks
    tonic to fetch it into ``folder`` (where the machine can reach the data host)."""
    from unittest import mock

    if dataset not in TONIC_DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; choose one of {', '.join(TONIC_DATASETS)}")
    pattern, layout = _TONIC_LAYOUT[dataset]
    root = Path(folder) / dataset
    split = "Train" if train else "Test"
    present = any(root.glob(pattern.format(split=split)))
    if not present and not download:
        raise DataError(
            f"no {dataset} {split.lower()} recordings under {root}; expected {layout}. "
            "Download the dataset there, or pass download=True to let tonic fetch it."
        )
    if dataset == "CIFAR10DVS":
        try:
            import aedat  # noqa: F401
        except ImportError:
            raise DataError(
                "reading CIFAR10DVS needs the aedat package: pip install aedat"
            ) from None
    import tonic

    kind = getattr(tonic.datasets, dataset)
    arguments = {"save_to": str(folder)} | ({"train": train} if dataset != "CIFAR10DVS" else {})
    if present:
        # tonic checks for its archive (and a full-size tree) and otherwise downloads; the
        # files are there, so that check is answered here.
        with mock.patch.object(kind, "_check_exists", return_value=True):
            data = kind(**arguments)
    else:
        try:
            data = kind(**arguments)
        except OSError as error:  # no route to the data host, refused, timed out
            raise DataError(
                f"tonic could not download {dataset} into {folder} ({error}); download it "
                f"by hand into {root} ({layout})"
            ) from None
    count = len(data) if limit is None else min(limit, len(data))
    samples, labels = [], []
    for k in range(count):
        events, label = data[k]
        converted = np.zeros(len(events), dtype=EVENT_DTYPE)
        for key in ("x", "y", "t", "p"):
            converted[key] = events[key]
        samples.append(converted)
        labels.append(label)
    return samples, np.asarray(labels)


def event_statistics(samples: list[np.ndarray]) -> dict:
    """The data notes' statistics (data.md §4) of a list of recordings."""
    counts = np.array([len(events) for events in samples])
    everything = np.concatenate(samples)
    profile = np.zeros(int(RECORDING_US // 10_000) + 4)
    for events in samples:
        profile += np.bincount(events["t"] // 10_000, minlength=len(profile))[: len(profile)]
    offsets = []
    for start, end in ((0, 105_000), (105_000, 210_000), (210_000, 10**9)):
        window = everything[(everything["t"] >= start) & (everything["t"] < end)]
        on, off = window[window["p"] == 1], window[window["p"] == 0]
        offsets.append(
            [float(on["x"].mean() - off["x"].mean()), float(on["y"].mean() - off["y"].mean())]
        )
    return {
        "samples": len(samples),
        "events_mean": float(counts.mean()),
        "events_sd": float(counts.std()),
        "events_min": int(counts.min()),
        "events_max": int(counts.max()),
        "on_fraction": float(np.mean([events["p"].mean() for events in samples])),  # per sample
        "x_range": [int(everything["x"].min()), int(everything["x"].max())],
        "y_range": [int(everything["y"].min()), int(everything["y"].max())],
        "last_event_ms": [
            float(min(e["t"].max() for e in samples) / 1000),
            float(max(e["t"].max() for e in samples) / 1000),
        ],
        "profile_10ms": (profile / len(samples)).tolist(),
        "on_off_offsets": offsets,
    }
