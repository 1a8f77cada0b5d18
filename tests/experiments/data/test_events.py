"""Event data: the N-MNIST format, the emulator against the data notes' targets, loaders."""

import socket
from unittest import mock

import numpy as np
import pytest

from experiments.data import events
from experiments.data.events import EVENT_DTYPE, DataError
from tests import ROOT

REAL_SUBSET = ROOT.parent / "shared" / "data" / "nmnist-small"
MNIST = REAL_SUBSET.parent / "mnist"


def _random_events(rng, n=500):
    out = np.zeros(n, dtype=EVENT_DTYPE)
    out["x"], out["y"] = rng.integers(0, 34, n), rng.integers(0, 34, n)
    out["t"] = np.sort(rng.integers(0, 2**23, n))
    out["p"] = rng.integers(0, 2, n)
    return out


@pytest.fixture(scope="module")
def emulated():
    samples, labels = events.emulated_nmnist(30, seed=3)
    return samples, labels, events.event_statistics(samples)


def test_write_read_round_trip_is_bit_exact_also_through_tonic(tmp_path):
    from tonic.io import read_mnist_file

    original = _random_events(np.random.default_rng(0))
    path = tmp_path / "sample.bin"
    events.write_nmnist(path, original)
    assert path.stat().st_size == 5 * len(original)
    np.testing.assert_array_equal(events.read_nmnist(path), original)
    theirs = read_mnist_file(str(path), dtype=np.dtype([(k, int) for k in "xytp"]))
    for key in "xytp":
        np.testing.assert_array_equal(theirs[key], original[key])


def test_timestamp_overflow_records_are_applied_and_dropped(tmp_path):
    original = _random_events(np.random.default_rng(1), n=4)
    original["t"] = [10, 20, 30, 40]
    path = tmp_path / "overflow.bin"
    events.write_nmnist(path, original)
    raw = bytearray(path.read_bytes())
    raw[10:10] = bytes([0, events.OVERFLOW_Y, 0, 0, 0])  # an overflow record after event 2
    path.write_bytes(bytes(raw))
    read = events.read_nmnist(path)
    np.testing.assert_array_equal(read["t"], [10, 20, 30 + 2**13, 40 + 2**13])


def test_corrupt_missing_and_out_of_range_data_are_clear_errors(tmp_path):
    path = tmp_path / "sample.bin"
    events.write_nmnist(path, _random_events(np.random.default_rng(2)))
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(DataError, match="truncated record"):
        events.read_nmnist(path)
    with pytest.raises(DataError, match="does not exist"):
        events.read_nmnist(tmp_path / "missing.bin")
    outside = _random_events(np.random.default_rng(3))
    outside["x"][5] = 40
    events.write_nmnist(path, outside)
    with pytest.raises(DataError, match="1 events lie outside the 34x34 sensor"):
        events.read_nmnist(path)
    bad = _random_events(np.random.default_rng(4))
    bad["t"][-1] = 2**23
    with pytest.raises(DataError, match="t outside"):
        events.write_nmnist(tmp_path / "bad.bin", bad)
    assert not (tmp_path / "bad.bin").exists()


def test_duplicate_events_in_one_step_are_merged():
    duplicated = np.zeros(4, dtype=EVENT_DTYPE)
    duplicated["x"], duplicated["y"], duplicated["p"] = 3, 2, 1
    duplicated["t"] = [100, 400, 900, 1200]  # three in step 0 of 1 ms, one in step 1
    neuron, step = events.bin_events(duplicated, dt_us=1000)
    np.testing.assert_array_equal(step, [0, 1])
    np.testing.assert_array_equal(neuron, [34 * 34 + 2 * 34 + 3] * 2)


def test_emulated_digits_meet_the_data_notes_targets(emulated):
    samples, _, stats = emulated
    counts = np.array([len(s) for s in samples])
    assert counts.min() >= 1000 and counts.max() <= 8000
    assert 3000 <= stats["events_mean"] <= 5500
    assert 0.45 <= stats["on_fraction"] <= 0.55
    assert stats["x_range"][0] >= 0 and stats["x_range"][1] <= 33
    assert stats["y_range"][0] >= 0 and stats["y_range"][1] <= 33
    assert all(
        np.all(np.diff(s["t"]) >= 0) and s["t"].min() >= 0 and s["t"].max() <= 320_000
        for s in samples
    )
    profile = np.array(stats["profile_10ms"])
    peaks = [10 * (lo + np.argmax(profile[lo:hi])) + 5 for lo, hi in ((0, 10), (10, 21), (21, 32))]
    for peak, expected in zip(peaks, (45, 150, 260), strict=True):
        assert abs(peak - expected) <= 15
    assert profile[9:11].max() < 0.15 * profile.max()  # the pause between saccades 1 and 2


def test_emulated_polarity_follows_the_real_convention(emulated):
    (dx1, dy1), (dx2, dy2), (dx3, dy3) = emulated[2]["on_off_offsets"]
    assert dy1 < 0 and dy2 > 0 and dx3 > 0


def test_emulator_is_deterministic_per_sample_and_cached(tmp_path, emulated):
    samples, labels, _ = emulated
    again, _ = events.emulated_nmnist(3, seed=3, cache_dir=tmp_path)
    for k in range(3):
        np.testing.assert_array_equal(again[k], samples[k])
    assert len(list(tmp_path.rglob("*.bin"))) == 3
    cached, _ = events.emulated_nmnist(3, seed=3, cache_dir=tmp_path)  # read back
    np.testing.assert_array_equal(cached[2], samples[2])
    assert labels[:3].tolist() == [0, 1, 2]


def test_the_translated_view_is_scipys_bilinear_interpolation_of_the_scene():
    from scipy import ndimage

    images, _ = events.digits_as_mnist(2)
    scenes = 0.2 + 0.8 * images / 255.0
    path = events.saccade_path(np.linspace(0, 320, 57))
    width, height = events.SENSOR
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    for step, view in enumerate(events.translated_scenes(scenes, 0.2, path)):
        rows, columns = y - 1 - path[step, 1], x + 1 - path[step, 0]
        for scene, seen in zip(scenes, view, strict=True):
            expected = ndimage.map_coordinates(
                scene, [rows, columns], order=1, mode="grid-constant", cval=0.2
            )
            np.testing.assert_allclose(seen, expected, rtol=0, atol=1e-14)


def test_a_recording_does_not_depend_on_the_batch_it_was_emulated_in():
    images, _ = events.digits_as_mnist(5)
    together = events.emulate_batch(images, [np.random.default_rng([1, k]) for k in range(5)])
    for k in (0, 3):
        alone = events.emulate_saccades(images[k], np.random.default_rng([1, k]))
        np.testing.assert_array_equal(alone, together[k])


def test_the_cache_is_keyed_by_the_image_not_only_by_the_sample_number(tmp_path):
    images, _ = events.digits_as_mnist(2)
    first = events.emulate_images(images[:1], [5], seed=3, cache_dir=tmp_path)
    # another image under the same sample number is emulated, not read back
    other = events.emulate_images(images[1:2], [5], seed=3, cache_dir=tmp_path)
    np.testing.assert_array_equal(
        other[0], events.emulate_saccades(images[1], np.random.default_rng([3, 5]))
    )
    assert len(first[0]) != len(other[0]) and len(list(tmp_path.rglob("*.bin"))) == 2


@pytest.mark.parametrize(
    "path, split, index",
    [
        ("1.bs2", "train", 0),
        ("1000.bs2", "train", 999),
        ("60001.bs2", "test", 0),
        ("Test/3/00005.bin", "test", 4),
        ("Train/0/59999.bin", "train", 59998),
    ],
)
def test_a_recording_names_the_mnist_image_it_was_recorded_from(path, split, index):
    assert events.mnist_index(path, split) == index


def test_a_recording_without_a_sample_number_is_refused():
    with pytest.raises(DataError, match="not an N-MNIST sample number"):
        events.mnist_index("Train/3/digit.bin", "train")


def test_a_recording_compared_with_itself_matches_exactly_and_others_less(emulated):
    samples = emulated[0][:6]
    same = events.compare_recordings(samples, samples)
    np.testing.assert_allclose(same["spatial_r"], 1)
    np.testing.assert_allclose(same["temporal_r"], 1)
    np.testing.assert_array_equal(same["real_events"], same["emulated_events"])
    # the control pairs each sample with the next, another digit here (0, 1, ..., 5)
    assert same["spatial_r_mismatched"].max() < 0.9
    with pytest.raises(ValueError, match="equally long"):
        events.compare_recordings(samples, samples[:3])


@pytest.mark.skipif(
    not (REAL_SUBSET.is_dir() and MNIST.is_dir()), reason="the real N-MNIST subset or MNIST absent"
)
def test_each_emulated_digit_resembles_its_own_real_recording_more_than_another():
    """Real N-MNIST sample k was recorded from MNIST image k - 1: its emulation must match it
    sample by sample (event counts across samples, spatial profile) better than a mismatched
    pair does."""
    from experiments.data.mnist import load_mnist

    images, _ = load_mnist(MNIST, "train", limit=40)
    real, _ = events.load_nmnist_folder(REAL_SUBSET, "train", limit=40)
    closeness = events.compare_recordings(real, events.emulate_images(images, range(40), seed=0))
    assert np.corrcoef(closeness["real_events"], closeness["emulated_events"])[0, 1] > 0.8
    assert np.median(closeness["emulated_events"] / closeness["real_events"]) == pytest.approx(
        1, abs=0.2
    )
    assert closeness["spatial_r"].mean() > closeness["spatial_r_mismatched"].mean() + 0.1


def test_no_emulated_stream_gives_two_spikes_of_one_input_in_one_step(emulated):
    for sample in emulated[0]:
        neuron, step = events.bin_events(sample, dt_us=1000)
        assert len(np.unique(np.stack([neuron, step]), axis=1)[0]) == len(neuron)


def test_folder_loaders_read_a_layout_the_test_makes_and_refuse_missing_ones(tmp_path):
    rng = np.random.default_rng(6)
    for digit in (3, 7):
        for k in range(2):
            events.write_nmnist(tmp_path / "Train" / str(digit) / f"{k}.bin", _random_events(rng))
    samples, labels = events.load_nmnist_folder(tmp_path, "train")
    assert len(samples) == 4 and sorted(labels) == [3, 3, 7, 7]
    with pytest.raises(DataError, match="does not exist"):
        events.load_nmnist_folder(tmp_path / "nowhere")
    with pytest.raises(DataError, match="holds neither"):
        events.load_nmnist_folder(tmp_path, "test")


def test_tonic_reads_the_layout_offline_and_never_downloads(tmp_path):
    rng = np.random.default_rng(7)
    for digit in (1, 4):
        events.write_nmnist(
            tmp_path / "NMNIST" / "Train" / str(digit) / "00001.bin", _random_events(rng)
        )
    offline = mock.patch.object(socket.socket, "connect", side_effect=OSError("offline test"))
    with offline:
        samples, labels = events.load_with_tonic(tmp_path, "NMNIST", train=True)
        assert len(samples) == 2 and sorted(labels) == [1, 4]
        direct = events.read_nmnist(tmp_path / "NMNIST" / "Train" / "1" / "00001.bin")
        np.testing.assert_array_equal(np.sort(samples[labels.tolist().index(1)]["t"]), direct["t"])
        with pytest.raises(DataError, match="download=True"):
            events.load_with_tonic(tmp_path / "empty", "DVSGesture")


def test_a_tonic_download_that_cannot_reach_the_host_is_a_clear_error(tmp_path):
    """download=True is the user's opt-in; without a network it fails with the fix named."""
    unreachable = OSError("offline test")
    with (
        mock.patch.object(socket.socket, "connect", side_effect=unreachable),
        mock.patch.object(socket, "getaddrinfo", side_effect=unreachable),
        pytest.raises(DataError, match="could not download NMNIST"),
    ):
        events.load_with_tonic(tmp_path, "NMNIST", train=False, download=True)


@pytest.mark.skipif(not REAL_SUBSET.is_dir(), reason=f"real N-MNIST subset not at {REAL_SUBSET}")
def test_reader_reproduces_the_real_subset_statistics():
    train, _ = events.load_nmnist_folder(REAL_SUBSET, "train")
    test, _ = events.load_nmnist_folder(REAL_SUBSET, "test")
    stats = events.event_statistics(train + test)
    assert stats["samples"] == 1100
    assert stats["events_mean"] == pytest.approx(4108, abs=1)
    assert stats["on_fraction"] == pytest.approx(0.500, abs=0.001)
    assert stats["x_range"] == [0, 33] and stats["y_range"] == [0, 33]
    assert round(stats["last_event_ms"][0]) >= 297 and round(stats["last_event_ms"][1]) <= 336
