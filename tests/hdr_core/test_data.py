"""Tests for hdr_core.data.

EMNIST cannot be downloaded here, so the EMNIST tests write small files in both official layouts
(``emnist-<split>.mat`` and the four IDX gzip files) into ``tmp_path``, with each image stored
transposed exactly as EMNIST stores it, and check that the loader hands them back upright.
MNIST tests read the real files from ``HDR_DATA_DIR`` (see the ``data_dir`` fixture in conftest.py).
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from hdr_core import data
from hdr_core.constants import DATA_DIR_ENV
from hdr_core.data import DATASET_NAMES, Dataset, available_datasets, class_names, data_dirs, load_dataset
from hdr_core.errors import DatasetNotFoundError, HdrError

EMNIST_NAMES = [name for name in DATASET_NAMES if name.startswith("emnist-")]
LAYOUTS = ["mat", "idx"]


# ------------------------------------------------------------------------------------------------
# Writing small EMNIST files in the official layouts
# ------------------------------------------------------------------------------------------------


def draw(text: str) -> np.ndarray:
    """(28, 28) uint8: ``text`` in a Hershey font, ink bright on black, upright like MNIST."""
    canvas = np.zeros((28, 28), np.uint8)
    cv2.putText(canvas, text, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.75, 255, 2, cv2.LINE_AA)
    assert not np.array_equal(canvas, canvas.T), f"{text!r} must look different transposed"
    return canvas


def l_shape() -> np.ndarray:
    """(28, 28) uint8 "L": a vertical bar in columns 6-8, a horizontal bar in rows 20-22."""
    image = np.zeros((28, 28), np.uint8)
    image[4:23, 6:9] = 255
    image[20:23, 6:20] = 255
    return image


def as_stored(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) upright -> (N, 28, 28) as EMNIST stores them: each image transposed."""
    return np.ascontiguousarray(images.transpose(0, 2, 1))


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000080<ndim>, big-endian sizes, then the data."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


def write_emnist_idx(folder: Path, name: str, train, test) -> None:
    """The four ``emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte.gz`` of gzip.zip."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in (("train", train), ("test", test)):
        write_gz(folder / f"{name}-{split}-images-idx3-ubyte.gz", idx_bytes(as_stored(images)))
        write_gz(folder / f"{name}-{split}-labels-idx1-ubyte.gz", idx_bytes(np.asarray(labels, np.uint8)))


def write_emnist_mat(folder: Path, name: str, train, test, *, n_classes: int | None = None) -> Path:
    """``emnist-<split>.mat`` of matlab.zip: struct dataset.{train,test}.{images,labels,writers}, mapping.

    Images are (N, 784) uint8 rows (each image transposed, row-major), labels (N, 1) double, as MATLAB
    writes them; mapping is (n_classes, 2): label -> ASCII code.
    """
    folder.mkdir(parents=True, exist_ok=True)
    n_classes = n_classes or len(class_names(name))

    def part(images, labels):
        return {
            "images": as_stored(images).reshape(len(images), 28 * 28),
            "labels": np.asarray(labels, np.float64).reshape(-1, 1),
            "writers": np.zeros((len(images), 1), np.float64),
        }

    first = 1 if name == "emnist-letters" else 0
    mapping = np.stack([np.arange(first, first + n_classes), np.arange(n_classes) + 48], axis=1)
    path = folder / f"{name}.mat"
    scipy.io.savemat(path, {"dataset": {"train": part(*train), "test": part(*test), "mapping": mapping}})
    return path


def write_emnist(layout: str, folder: Path, name: str, train, test) -> None:
    if layout == "mat":
        write_emnist_mat(folder, name, train, test)
    else:
        write_emnist_idx(folder, name, train, test)


def digits_splits():
    """Small upright train/test splits of drawn digits: ((images, labels), (images, labels))."""
    train_labels = np.array([2, 4, 7, 1, 9], np.uint8)
    test_labels = np.array([5, 3], np.uint8)
    train = np.stack([draw(str(d)) for d in train_labels])
    test = np.stack([draw(str(d)) for d in test_labels])
    return (train, train_labels), (test, test_labels)


@pytest.fixture
def no_env_data(monkeypatch, tmp_path):
    """No HDR_DATA_DIR and an empty Keras cache, so only what a test writes can be found."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


# ------------------------------------------------------------------------------------------------
# EMNIST in both layouts
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_emnist_images_come_out_upright(tmp_path, layout):
    train, test = digits_splits()
    write_emnist(layout, tmp_path, "emnist-digits", train, test)

    dataset = load_dataset("emnist-digits", data_dir=tmp_path)

    assert isinstance(dataset, Dataset)
    assert dataset.x_train.shape == (5, 28, 28) and dataset.x_train.dtype == np.uint8
    assert dataset.x_test.shape == (2, 28, 28) and dataset.x_test.dtype == np.uint8
    np.testing.assert_array_equal(dataset.x_train, train[0])
    np.testing.assert_array_equal(dataset.x_test, test[0])
    np.testing.assert_array_equal(dataset.y_train, train[1])
    np.testing.assert_array_equal(dataset.y_test, test[1])
    assert dataset.y_train.dtype == np.uint8 and dataset.y_train.shape == (5,)
    assert dataset.x_train.flags.c_contiguous


@pytest.mark.parametrize("layout", LAYOUTS)
def test_emnist_l_shape_keeps_its_bars_where_they_were(tmp_path, layout):
    image = l_shape()
    split = (image[None], np.array([1], np.uint8))
    write_emnist(layout, tmp_path, "emnist-mnist", split, split)

    loaded = load_dataset("emnist-mnist", data_dir=tmp_path).x_train[0]

    assert loaded[4:23, 6:9].min() == 255  # the vertical bar, on the left
    assert loaded[20:23, 6:20].min() == 255  # the foot, at the bottom
    assert loaded[0:18, 10:].max() == 0  # nothing top right


@pytest.mark.parametrize("layout", LAYOUTS)
def test_emnist_letters_labels_shift_to_zero_based(tmp_path, layout):
    letters = "AFJRZ"
    images = np.stack([draw(letter) for letter in letters])
    labels = np.array([ord(letter) - ord("A") + 1 for letter in letters], np.uint8)  # files count from 1
    write_emnist(layout, tmp_path, "emnist-letters", (images, labels), (images[:2], labels[:2]))

    dataset = load_dataset("emnist-letters", data_dir=tmp_path)

    np.testing.assert_array_equal(dataset.y_train, labels - 1)
    assert [dataset.class_names[i] for i in dataset.y_train] == list(letters)
    assert [dataset.class_names[i] for i in dataset.y_test] == list(letters[:2])
    np.testing.assert_array_equal(dataset.x_train, images)
    assert dataset.n_classes == 26


@pytest.mark.parametrize("name", EMNIST_NAMES)
def test_every_emnist_split_loads_with_its_class_count(tmp_path, name):
    n_classes = len(class_names(name))
    first = 1 if name == "emnist-letters" else 0
    labels = np.array([first, first + n_classes - 1], np.uint8)  # the first and the last class
    images = np.stack([draw("4"), draw("2")])
    write_emnist_idx(tmp_path, name, (images, labels), (images, labels))

    dataset = load_dataset(name, data_dir=tmp_path)

    assert dataset.name == name
    assert dataset.n_classes == n_classes
    np.testing.assert_array_equal(dataset.y_train, [0, n_classes - 1])


def test_emnist_mat_is_preferred_and_found_in_the_zip_subfolders(tmp_path, no_env_data, monkeypatch):
    train, test = digits_splits()
    write_emnist_mat(tmp_path / "matlab", "emnist-digits", train, test)
    write_emnist_idx(tmp_path / "gzip", "emnist-balanced", train, test)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))

    assert load_dataset("emnist-digits").source == str((tmp_path / "matlab" / "emnist-digits.mat").resolve())
    assert load_dataset("emnist-balanced").source == str((tmp_path / "gzip").resolve())
    where = available_datasets()
    assert where["emnist-digits"] == str((tmp_path / "matlab" / "emnist-digits.mat").resolve())
    assert where["emnist-letters"] is None


def test_uncompressed_idx_files_are_read_too(tmp_path):
    (train_x, train_y), (test_x, test_y) = digits_splits()
    for split, images, labels in (("train", train_x, train_y), ("test", test_x, test_y)):
        (tmp_path / f"emnist-digits-{split}-images-idx3-ubyte").write_bytes(idx_bytes(as_stored(images)))
        (tmp_path / f"emnist-digits-{split}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))

    np.testing.assert_array_equal(load_dataset("emnist-digits", data_dir=tmp_path).x_train, train_x)


def test_labels_outside_the_split_are_refused(tmp_path):
    images = np.stack([draw("4")])
    write_emnist_idx(tmp_path, "emnist-digits", (images, [10]), (images, [0]))  # 10 is not a digit

    with pytest.raises(DatasetNotFoundError, match=r"labels of 'emnist-digits' must lie in 0\.\.9"):
        load_dataset("emnist-digits", data_dir=tmp_path)


def test_mat_of_another_split_is_refused(tmp_path):
    train, test = digits_splits()
    write_emnist_mat(tmp_path, "emnist-balanced", train, test, n_classes=62)  # a byclass mapping

    with pytest.raises(DatasetNotFoundError, match="mapping lists 62 classes, not 47"):
        load_dataset("emnist-balanced", data_dir=tmp_path)


# ------------------------------------------------------------------------------------------------
# Shared, read-only, cached
# ------------------------------------------------------------------------------------------------


def test_loaded_arrays_are_read_only_and_cached(tmp_path):
    train, test = digits_splits()
    write_emnist_idx(tmp_path, "emnist-digits", train, test)

    first = load_dataset("emnist-digits", data_dir=tmp_path)
    again = load_dataset(" EMNIST-Digits ", data_dir=tmp_path)

    assert again is first
    for array in (first.x_train, first.y_train, first.x_test, first.y_test):
        assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first.x_train[0, 0, 0] = 1


def test_a_replaced_file_is_read_again(tmp_path):
    train, test = digits_splits()
    write_emnist_idx(tmp_path, "emnist-digits", train, test)
    first = load_dataset("emnist-digits", data_dir=tmp_path)

    write_emnist_idx(tmp_path, "emnist-digits", (train[0][:3], train[1][:3]), test)
    second = load_dataset("emnist-digits", data_dir=tmp_path)

    assert len(first.x_train) == 5 and len(second.x_train) == 3


# ------------------------------------------------------------------------------------------------
# Names and class names
# ------------------------------------------------------------------------------------------------


def test_dataset_names():
    assert DATASET_NAMES == (
        "mnist",
        "emnist-digits",
        "emnist-letters",
        "emnist-balanced",
        "emnist-bymerge",
        "emnist-byclass",
        "emnist-mnist",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mnist", "0123456789"),
        ("emnist-digits", "0123456789"),
        ("emnist-mnist", "0123456789"),
        ("emnist-letters", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("emnist-byclass", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
        ("emnist-bymerge", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"),
        ("emnist-balanced", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"),
    ],
)
def test_class_names(name, expected):
    assert class_names(name) == tuple(expected)


@pytest.mark.parametrize("call", [class_names, load_dataset])
def test_unknown_name_lists_the_names(call):
    with pytest.raises(ValueError, match="unknown dataset 'emnist-digit'") as info:
        call("emnist-digit")
    for name in DATASET_NAMES:
        assert name in str(info.value)


# ------------------------------------------------------------------------------------------------
# Missing data: say which files to put where
# ------------------------------------------------------------------------------------------------


def test_missing_emnist_names_the_files_and_the_folder(tmp_path, no_env_data, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))

    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("emnist-balanced")

    message = str(info.value)
    assert isinstance(info.value, HdrError)
    for file_name in (
        "emnist-balanced.mat",
        "emnist-balanced-train-images-idx3-ubyte.gz",
        "emnist-balanced-train-labels-idx1-ubyte.gz",
        "emnist-balanced-test-images-idx3-ubyte.gz",
        "emnist-balanced-test-labels-idx1-ubyte.gz",
    ):
        assert file_name in message
    assert DATA_DIR_ENV in message and str(tmp_path) in message


def test_missing_without_hdr_data_dir_says_to_set_it(no_env_data):
    with pytest.raises(DatasetNotFoundError, match=f"set the environment variable {DATA_DIR_ENV}"):
        load_dataset("emnist-letters")


def test_missing_with_explicit_folder_names_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path)  # an explicit folder: no download is tried

    message = str(info.value)
    assert "mnist.npz" in message and "train-images-idx3-ubyte.gz" in message
    assert "t10k-labels-idx1-ubyte.gz" in message and str(tmp_path) in message


def test_partial_idx_set_names_the_missing_files(tmp_path):
    train, test = digits_splits()
    write_emnist_idx(tmp_path, "emnist-digits", train, test)
    (tmp_path / "emnist-digits-test-labels-idx1-ubyte.gz").unlink()

    with pytest.raises(DatasetNotFoundError, match="emnist-digits-test-labels-idx1-ubyte.gz missing"):
        load_dataset("emnist-digits", data_dir=tmp_path)


def test_mnist_download_failure_is_a_clear_error(no_env_data, monkeypatch):
    def offline():
        raise OSError("no network")

    monkeypatch.setattr(data, "_keras_download_mnist", offline)
    data._download_mnist.cache_clear()

    with pytest.raises(DatasetNotFoundError, match="mnist.npz.*Downloading it with Keras failed too.*no network"):
        load_dataset("mnist")


def test_mnist_download_is_the_last_resort(no_env_data, monkeypatch):
    images = np.stack([l_shape()] * 3)
    monkeypatch.setattr(data, "_keras_download_mnist", lambda: (images, np.arange(3), images, np.arange(3)))
    data._download_mnist.cache_clear()
    try:
        dataset = load_dataset("mnist")
    finally:
        data._download_mnist.cache_clear()

    assert dataset.source.startswith("download")
    np.testing.assert_array_equal(dataset.x_train, images)  # MNIST is not transposed
    assert dataset.y_train.dtype == np.uint8


def test_keras_cache_is_searched_after_hdr_data_dir(tmp_path, no_env_data, monkeypatch):
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    images = np.stack([l_shape()] * 2)
    labels = np.array([1, 7], np.uint8)
    np.savez(cache / "mnist.npz", x_train=images, y_train=labels, x_test=images, y_test=labels)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "empty"))

    assert data_dirs() == [tmp_path / "empty", cache]
    dataset = load_dataset("mnist")
    assert dataset.source == str((cache / "mnist.npz").resolve())
    assert available_datasets()["mnist"] == dataset.source


def test_data_dirs_without_hdr_data_dir(no_env_data, tmp_path):
    assert data_dirs() == [tmp_path / "keras-home" / "datasets"]


# ------------------------------------------------------------------------------------------------
# Corrupt files: a clear HdrError naming the file, never a raw traceback
# ------------------------------------------------------------------------------------------------

_GOOD_IMAGES = np.zeros((2, 28, 28), np.uint8)


@pytest.mark.parametrize(
    ("payload", "gzipped", "match"),
    [
        (b"\x00\x00\x08\x02" + idx_bytes(_GOOD_IMAGES)[4:], True, "magic number is 0x00000802"),
        (idx_bytes(_GOOD_IMAGES)[:-100], True, r"announces 1568 bytes of data but only 1468 follow"),
        (idx_bytes(_GOOD_IMAGES) + b"\x00", True, "more data follows"),
        (idx_bytes(np.zeros((2, 32, 32), np.uint8)), True, "images are 32x32, not 28x28"),
        (b"\x00\x00\x08\x03\x00\x00", True, "header is cut short"),
        (b"", True, "empty or shorter than an IDX header"),
        (gzip.compress(idx_bytes(_GOOD_IMAGES))[:-30], False, "EOFError|BadGzipFile|Error"),  # cut gzip stream
        (b"<html>404 not found</html>", False, "BadGzipFile|Not a gzipped file"),
        (idx_bytes(np.zeros(2, np.uint8)), True, r"0x00000801, which marks IDX labels, not 0x00000803"),
    ],
    ids=["magic", "truncated", "extra", "size", "header", "empty", "cut-gzip", "not-gzip", "labels-as-images"],
)
def test_corrupt_idx_is_a_clear_error(tmp_path, payload, gzipped, match):
    train, test = digits_splits()
    write_emnist_idx(tmp_path, "emnist-digits", train, test)
    bad = tmp_path / "emnist-digits-train-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(payload) if gzipped else payload)

    with pytest.raises(DatasetNotFoundError, match=match) as info:
        load_dataset("emnist-digits", data_dir=tmp_path)
    assert str(bad.resolve()) in str(info.value)


def test_label_count_must_match_image_count(tmp_path):
    train, test = digits_splits()
    write_emnist_idx(tmp_path, "emnist-digits", train, (test[0], np.array([5, 3, 1], np.uint8)))

    with pytest.raises(DatasetNotFoundError, match="test labels must be 2 integers"):
        load_dataset("emnist-digits", data_dir=tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"this is not a MATLAB file at all", "not a readable MATLAB file"),
        ("no-dataset", "not laid out like EMNIST"),
    ],
)
def test_corrupt_mat_is_a_clear_error(tmp_path, content, match):
    path = tmp_path / "emnist-digits.mat"
    if content == "no-dataset":
        scipy.io.savemat(path, {"images": np.zeros((2, 784), np.uint8)})
    else:
        path.write_bytes(content)

    with pytest.raises(DatasetNotFoundError, match=match):
        load_dataset("emnist-digits", data_dir=tmp_path)


def test_corrupt_npz_is_a_clear_error(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")

    with pytest.raises(DatasetNotFoundError, match="mnist.npz cannot be used"):
        load_dataset("mnist", data_dir=tmp_path)


# ------------------------------------------------------------------------------------------------
# Import cost
# ------------------------------------------------------------------------------------------------


def test_import_is_tf_and_scipy_free():
    code = (
        "import sys, hdr_core.data\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'scipy', 'streamlit') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# ------------------------------------------------------------------------------------------------
# Real MNIST from HDR_DATA_DIR
# ------------------------------------------------------------------------------------------------


def test_mnist_from_hdr_data_dir(data_dir, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))

    mnist = load_dataset("mnist")

    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_test.shape == (10000,)
    assert mnist.y_train.dtype == np.uint8
    assert set(np.unique(mnist.y_train)) == set(range(10)) == set(np.unique(mnist.y_test))
    assert mnist.class_names == tuple("0123456789") and mnist.n_classes == 10
    assert mnist.x_train.max() == 255 and np.median(mnist.x_train[:100]) == 0  # ink bright on black
    assert not mnist.x_train.flags.writeable
    assert mnist.source.startswith(str(data_dir.resolve()))


def test_mnist_idx_equals_mnist_npz(data_dir, data_file):
    idx_dir = data_file("mnist-idx")

    from_npz = load_dataset("mnist", data_dir=data_dir)
    from_idx = load_dataset("mnist", data_dir=idx_dir)

    assert from_npz.source.endswith("mnist.npz") and from_idx.source == str(idx_dir.resolve())
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(from_idx, field), getattr(from_npz, field), err_msg=field)


def test_mnist_idx_found_in_mnist_idx_subfolder(tmp_path, data_file):
    (tmp_path / "mnist-idx").symlink_to(data_file("mnist-idx"), target_is_directory=True)

    dataset = load_dataset("mnist", data_dir=tmp_path)  # resolves to the same files: served from cache

    assert dataset.source == str(data_file("mnist-idx").resolve())
    assert dataset.x_test.shape == (10000, 28, 28)


# --------------------------------------------------------------------------------------------------
# Real-dev scoring (samples made up here; the real files are read in test_cli and test_zoo)
# --------------------------------------------------------------------------------------------------


def test_real_dev_score_counts_by_kind_and_by_source():
    from hdr_core.realdev import PreparedRealDev, RealSample, score_real_dev

    def sample(label, source, kind):
        return RealSample(Path(f"/nowhere/{source}/{label}.png"), label, source, kind)

    singles = [sample("1", "alice", "scan"), sample("2", "alice", "scan"), sample("3", "bob", "photo")]
    inputs = np.zeros((3, 28, 28), np.float32)
    unreadable = sample("4", "bob", "photo")
    prepared = PreparedRealDev(singles, inputs, [(unreadable, "no ink found")], [])
    reads = np.eye(10, dtype=np.float32)[[1, 7, 3]]  # alice's 2 is read as 7
    report = score_real_dev(lambda x: reads[: len(x)], prepared).to_json()
    assert report["n"] == 4 and report["accuracy"] == 0.5
    assert report["by_kind"] == {"photo": {"n": 2, "accuracy": 0.5}, "scan": {"n": 2, "accuracy": 0.5}}
    assert report["by_source"] == {"alice": {"n": 2, "accuracy": 0.5}, "bob": {"n": 2, "accuracy": 0.5}}
    assert {f["label"] for f in report["failures"]} == {"2", "4"}
