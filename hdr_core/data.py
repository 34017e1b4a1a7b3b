"""Datasets as read-only uint8 arrays: MNIST and every EMNIST split, by name.

``load_dataset(name)`` looks in each folder of ``data_dirs()`` in turn (``HDR_DATA_DIR`` first, then the
Keras download cache) and reads the first complete copy it finds:

=================  =====================================================================================
dataset            files looked for in each folder, in this order
=================  =====================================================================================
``mnist``          ``mnist.npz`` (Keras layout); the four MNIST IDX files (``train-images-idx3-ubyte.gz``,
                   ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
                   ``t10k-labels-idx1-ubyte.gz``) in the folder or in its ``mnist-idx/`` subfolder
``emnist-<split>`` ``emnist-<split>.mat`` (EMNIST's matlab.zip); the four EMNIST IDX files
                   ``emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte.gz`` (EMNIST's gzip.zip),
                   in the folder or in its ``matlab/`` or ``gzip/`` subfolder (the zips' own folders)
=================  =====================================================================================

IDX files may also be stored uncompressed (the same names without ``.gz``). When MNIST is nowhere on
disk, Keras downloads it into its cache (needs the internet; TensorFlow is imported only then).

EMNIST stores every image transposed relative to MNIST; it is transposed back here, so an EMNIST digit
comes out upright exactly like an MNIST one. EMNIST Letters labels (1..26) are shifted to 0..25.

Importing this module is cheap: numpy and the standard library only (SciPy is imported when a ``.mat``
file is read, Keras only for the download).
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hdr_core.constants import DATA_DIR_ENV, DIGIT_CLASS_NAMES, IMAGE_SIZE
from hdr_core.errors import DatasetNotFoundError

__all__ = [
    "DATASET_NAMES",
    "Dataset",
    "available_datasets",
    "class_names",
    "data_dirs",
    "load_dataset",
]

DATASET_NAMES: tuple[str, ...] = (
    "mnist",
    "emnist-digits",
    "emnist-letters",
    "emnist-balanced",
    "emnist-bymerge",
    "emnist-byclass",
    "emnist-mnist",
)

_UPPER = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))
_LOWER = tuple(chr(c) for c in range(ord("a"), ord("z") + 1))
# bymerge and balanced merge the 15 lowercase letters that look like their capitals (c i j k l m o p s
# u v w x y z); the 11 that stay distinct follow the capitals.
_MERGED_LOWER = tuple("abdefghnqrt")

_CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": DIGIT_CLASS_NAMES,
    "emnist-digits": DIGIT_CLASS_NAMES,
    "emnist-mnist": DIGIT_CLASS_NAMES,
    "emnist-letters": _UPPER,  # case-merged: class "A" holds both "A" and "a"
    "emnist-balanced": DIGIT_CLASS_NAMES + _UPPER + _MERGED_LOWER,
    "emnist-bymerge": DIGIT_CLASS_NAMES + _UPPER + _MERGED_LOWER,
    "emnist-byclass": DIGIT_CLASS_NAMES + _UPPER + _LOWER,
}

# The label the first class has in the files: EMNIST Letters counts from 1, everything else from 0.
_FIRST_LABEL = {"emnist-letters": 1}

_MNIST_NPZ = "mnist.npz"
_MNIST_IDX = (  # (train images, train labels, test images, test labels)
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_MNIST_SUBFOLDERS = ("", "mnist-idx")
_EMNIST_SUBFOLDERS = ("", "matlab", "gzip")
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

_MAX_CACHED = len(DATASET_NAMES) + 1  # every dataset once, plus a spare for a replaced file
_LOAD_LOCK = threading.Lock()  # one load at a time: two sessions asking at once read the files once


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One dataset's train and test splits, shared read-only (``writeable=False``).

    Attributes
    ----------
    name : str
        One of ``DATASET_NAMES``.
    x_train, x_test : (N, 28, 28) uint8 ndarray
        Images, upright like MNIST, ink bright (255) on black (0). Read-only.
    y_train, y_test : (N,) uint8 ndarray
        Class indices ``0 .. n_classes - 1`` into ``class_names``. Read-only.
    class_names : tuple of str
        The label of each class index, e.g. ``("0", ..., "9")``.
    source : str
        The file or folder the arrays were read from (or the Keras download).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def n_classes(self) -> int:
        """Number of classes: the size of a model's output layer for this dataset."""
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
            f"n_classes={self.n_classes}, source={self.source!r})"
        )


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def class_names(name: str) -> tuple[str, ...]:
    """Class labels of a dataset, without reading its files.

    Parameters
    ----------
    name : str
        One of ``DATASET_NAMES``.

    Returns
    -------
    names : tuple of str
        ``names[i]`` is the label of class index ``i``: digits ``"0".."9"``; ``emnist-letters``
        ``"A".."Z"`` (upper and lower case merged); ``emnist-byclass`` ``0-9 A-Z a-z`` (62);
        ``emnist-bymerge`` and ``emnist-balanced`` ``0-9 A-Z`` then ``a b d e f g h n q r t`` (47).

    Raises
    ------
    ValueError
        ``name`` is not a known dataset (the message lists them).
    """
    return _CLASS_NAMES[_check_name(name)]


def data_dirs() -> list[Path]:
    """Folders searched for datasets, in order.

    Returns
    -------
    dirs : list of Path
        The folder named by ``HDR_DATA_DIR`` when that is set, then the Keras download cache
        (``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``). Folders may not exist yet.
    """
    dirs = []
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        dirs.append(Path(env).expanduser().absolute())
    keras_cache = _keras_cache_dir()
    if keras_cache not in dirs:
        dirs.append(keras_cache)
    return dirs


def available_datasets() -> dict[str, str | None]:
    """Where each dataset would be read from, without reading it.

    Only checks that files exist (no decompression), so it is cheap enough for a page or ``info``.

    Returns
    -------
    where : dict of str to (str or None)
        For every name in ``DATASET_NAMES``: the file or folder it would be read from, or ``None``
        when it is nowhere on disk. MNIST missing from disk reads ``"download: keras.datasets.mnist
        (needs the internet)"`` instead, since ``load_dataset("mnist")`` would then download it.
    """
    dirs = data_dirs()
    where: dict[str, str | None] = {}
    for name in DATASET_NAMES:
        found = _find_source(name, dirs)
        if found is not None:
            where[name] = found.describe()
        elif name == "mnist":
            where[name] = "download: keras.datasets.mnist (needs the internet)"
        else:
            where[name] = None
    return where


def load_dataset(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Read a dataset's train and test splits (once per process; later calls share the arrays).

    Parameters
    ----------
    name : str
        One of ``DATASET_NAMES`` (case and surrounding spaces are ignored).
    data_dir : str or path-like, optional
        Read from this folder (or its subfolders, see the module docstring) only, instead of
        ``data_dirs()``; nothing is downloaded then.

    Returns
    -------
    dataset : Dataset
        Read-only uint8 arrays: ``x_*`` (N, 28, 28), upright like MNIST; ``y_*`` (N,) class indices.
        The same object is returned again while the files it was read from are unchanged.

    Raises
    ------
    ValueError
        ``name`` is not a known dataset (the message lists them).
    DatasetNotFoundError
        The dataset is not on disk (and, for MNIST, could not be downloaded); the message names the
        files and the folder to put them in. Also raised when a file is corrupt, truncated or not in
        the expected format, naming the file.
    """
    name = _check_name(name)
    dirs = [Path(data_dir).expanduser().absolute()] if data_dir is not None else data_dirs()
    source = _find_source(name, dirs)
    with _LOAD_LOCK:
        if source is not None:
            return _load_source(name, source, _fingerprint(source))
        if name == "mnist" and data_dir is None:
            try:
                return _download_mnist()
            except Exception as exc:  # noqa: BLE001 - offline, blocked, bad cache...: all the same to the user
                raise DatasetNotFoundError(
                    _missing_message(name, dirs, explicit=False)
                    + f" Downloading it with Keras failed too ({type(exc).__name__}: {exc})."
                ) from exc
    raise DatasetNotFoundError(_missing_message(name, dirs, explicit=data_dir is not None))


# --------------------------------------------------------------------------------------------------
# Finding files
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where one dataset is on disk: ``kind`` is "npz", "mat" or "idx"; ``paths`` are resolved."""

    kind: str
    paths: tuple[Path, ...]  # npz/mat: (file,); idx: (train images, train labels, test images, test labels)

    def describe(self) -> str:
        return str(self.paths[0] if self.kind != "idx" else self.paths[0].parent)


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    canonical = name.strip().lower()
    if canonical not in _CLASS_NAMES:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASET_NAMES)}")
    return canonical


def _keras_cache_dir() -> Path:
    """Keras's download cache, found the way Keras finds it (``KERAS_HOME``, ``~/.keras``, ``/tmp``)."""
    keras_home = os.environ.get("KERAS_HOME")
    if not keras_home:
        home = os.path.expanduser("~")
        keras_home = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return Path(keras_home).expanduser().absolute() / "datasets"


def _idx_names(name: str) -> tuple[str, ...]:
    """The four IDX file names (without ``.gz``): train images, train labels, test images, test labels."""
    if name == "mnist":
        return _MNIST_IDX
    return tuple(
        f"{name}-{split}-{part}-ubyte"
        for split in ("train", "test")
        for part in ("images-idx3", "labels-idx1")
    )


def _find_idx(folder: Path, names: tuple[str, ...]) -> tuple[Path, ...] | None:
    found = []
    for stem in names:
        candidates = [folder / f"{stem}.gz", folder / stem]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return None
        found.append(path.resolve())
    return tuple(found)


def _find_source(name: str, dirs: list[Path]) -> _Source | None:
    """The first complete copy of ``name`` in ``dirs`` (files are only checked for existence)."""
    idx_names = _idx_names(name)
    subfolders = _MNIST_SUBFOLDERS if name == "mnist" else _EMNIST_SUBFOLDERS
    single_file = _MNIST_NPZ if name == "mnist" else f"{name}.mat"
    kind = "npz" if name == "mnist" else "mat"
    for base in dirs:
        for sub in subfolders:
            folder = base / sub if sub else base
            if (folder / single_file).is_file():
                return _Source(kind, ((folder / single_file).resolve(),))
            idx = _find_idx(folder, idx_names)
            if idx is not None:
                return _Source("idx", idx)
    return None


def _fingerprint(source: _Source) -> tuple[tuple[int, int], ...]:
    """(mtime, size) of each file: part of the cache key, so a replaced file is read again."""
    stats = [path.stat() for path in source.paths]
    return tuple((st.st_mtime_ns, st.st_size) for st in stats)


def _missing_message(name: str, dirs: list[Path], *, explicit: bool) -> str:
    idx = [f"{stem}.gz" for stem in _idx_names(name)]
    if name == "mnist":
        what = f"{_MNIST_NPZ} (Keras layout), or the four MNIST IDX files {', '.join(idx)}"
        sub_hint = f" (the IDX files may also go in its {_MNIST_SUBFOLDERS[1]}/ subfolder)"
    else:
        what = (
            f"{name}.mat (from EMNIST's matlab.zip), or the four IDX files {', '.join(idx)} "
            "(from EMNIST's gzip.zip)"
        )
        sub_hint = " (or in its matlab/ or gzip/ subfolder, as the zips unpack)"
    if explicit:
        where = f"into the folder {dirs[0]}{sub_hint}"
    else:
        env = os.environ.get(DATA_DIR_ENV, "").strip()
        if env:
            exists = "" if dirs[0].is_dir() else " (it does not exist yet)"
            where = f"into the folder {DATA_DIR_ENV} names, {dirs[0]}{exists}{sub_hint}"
        else:
            where = (
                f"into a folder{sub_hint} and set the environment variable {DATA_DIR_ENV} to that "
                f"folder ({DATA_DIR_ENV} is not set now)"
            )
    searched = ", ".join(str(d) for d in dirs)
    partial = _partial_idx_hint(name, dirs)
    return f"Dataset {name!r} not found. Put {what} {where}.{partial} Searched: {searched}."


def _partial_idx_hint(name: str, dirs: list[Path]) -> str:
    """Names the missing files when a folder holds only some of the four IDX files."""
    subfolders = _MNIST_SUBFOLDERS if name == "mnist" else _EMNIST_SUBFOLDERS
    for base in dirs:
        for sub in subfolders:
            folder = base / sub if sub else base
            present = [s for s in _idx_names(name) if (folder / f"{s}.gz").is_file() or (folder / s).is_file()]
            if present:
                missing = [f"{s}.gz" for s in _idx_names(name) if s not in present]
                return f" {folder} holds only some of the IDX files: {', '.join(missing)} missing."
    return ""


# --------------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=_MAX_CACHED)
def _load_source(name: str, source: _Source, fingerprint: tuple) -> Dataset:
    """Read and check one dataset; cached on (name, resolved paths, file mtimes and sizes)."""
    del fingerprint  # only part of the cache key
    if source.kind == "npz":
        x_train, y_train, x_test, y_test = _read_npz(source.paths[0])
    elif source.kind == "mat":
        x_train, y_train, x_test, y_test = _read_emnist_mat(source.paths[0], len(_CLASS_NAMES[name]))
    else:
        x_train, y_train, x_test, y_test = (
            _read_idx(path, images=is_images) for path, is_images in zip(source.paths, (True, False) * 2)
        )
    if name != "mnist":  # EMNIST stores each image transposed
        x_train, x_test = _untranspose(x_train), _untranspose(x_test)
    return _make_dataset(name, x_train, y_train, x_test, y_test, source=source.describe())


@functools.lru_cache(maxsize=1)
def _download_mnist() -> Dataset:
    x_train, y_train, x_test, y_test = _keras_download_mnist()
    return _make_dataset(
        "mnist", x_train, y_train, x_test, y_test, source="download: keras.datasets.mnist"
    )


def _keras_download_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Download MNIST into Keras's cache (imports Keras, and with it TensorFlow: the slow path)."""
    from keras.datasets import mnist  # noqa: PLC0415 - heavy, needed only here

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return x_train, y_train, x_test, y_test


def _untranspose(images: np.ndarray, *, chunk: int = 8192) -> np.ndarray:
    """(N, 28, 28) stored (col, row) -> (N, 28, 28) upright (row, col), C-contiguous.

    Works in place, a chunk at a time, when it can: EMNIST ByClass is 0.55 GB and a server should not
    need twice that while loading it.
    """
    if not (images.flags.writeable and images.flags.c_contiguous):
        return np.ascontiguousarray(images.transpose(0, 2, 1))
    for start in range(0, len(images), chunk):
        block = images[start : start + chunk]
        block[...] = block.transpose(0, 2, 1).copy()
    return images


def _make_dataset(name, x_train, y_train, x_test, y_test, *, source: str) -> Dataset:
    """Check shapes and labels, shift labels to 0-based, freeze the arrays."""
    names = _CLASS_NAMES[name]
    first = _FIRST_LABEL.get(name, 0)
    arrays = {}
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        x = np.asarray(x)
        y = np.asarray(y).reshape(-1) if np.ndim(y) == 2 and np.shape(y)[1] == 1 else np.asarray(y)
        if x.ndim != 3 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or x.dtype != np.uint8:
            raise DatasetNotFoundError(
                f"{source}: {split} images must be (N, {IMAGE_SIZE}, {IMAGE_SIZE}) uint8, got "
                f"{x.shape} {x.dtype}. Replace the file with an official copy of {name!r}."
            )
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DatasetNotFoundError(
                f"{source}: {split} labels must be {len(x)} integers (one per image), got shape "
                f"{y.shape} {y.dtype}. Replace the file with an official copy of {name!r}."
            )
        if len(y) and (int(y.min()) < first or int(y.max()) >= first + len(names)):
            raise DatasetNotFoundError(
                f"{source}: {split} labels of {name!r} must lie in {first}..{first + len(names) - 1}, "
                f"found {int(y.min())}..{int(y.max())}. Is this a different EMNIST split's file?"
            )
        y = (y - first).astype(np.uint8) if (first or y.dtype != np.uint8) else y
        for array in (x, y):
            array.flags.writeable = False  # shared between sessions: nobody may change it
        arrays[split] = (x, y)
    return Dataset(
        name=name,
        x_train=arrays["train"][0],
        y_train=arrays["train"][1],
        x_test=arrays["test"][0],
        y_test=arrays["test"][1],
        class_names=names,
        source=source,
    )


def _corrupt(path: Path, problem: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{path} cannot be used: {problem}. The file is corrupt, truncated or not what its name says; "
        "download it again and replace it."
    )


def _read_npz(path: Path) -> tuple[np.ndarray, ...]:
    """Keras's ``mnist.npz``: arrays x_train, y_train, x_test, y_test."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise _corrupt(path, f"it lacks the arrays {', '.join(missing)} (expected {', '.join(keys)})")
            return tuple(npz[k] for k in keys)
    except DatasetNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile.BadZipFile, EOFError, zlib.error, ValueError...
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from exc


def _read_idx(path: Path, *, images: bool) -> np.ndarray:
    """One IDX file (gzip-compressed or not) of unsigned bytes: images (N, 28, 28) or labels (N,).

    The 4-byte magic number is checked (0x803 images, 0x801 labels), then the sizes in the header
    against 28x28 and against the number of bytes that follow (neither fewer nor more).
    """
    wanted = _IDX_IMAGES_MAGIC if images else _IDX_LABELS_MAGIC
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            magic_bytes = stream.read(4)
            if len(magic_bytes) < 4:
                raise _corrupt(path, "it is empty or shorter than an IDX header")
            (magic,) = struct.unpack(">I", magic_bytes)
            if magic != wanted:
                kinds = {_IDX_IMAGES_MAGIC: "IDX images", _IDX_LABELS_MAGIC: "IDX labels"}
                actual = f", which marks {kinds[magic]}" if magic in kinds else ""
                raise _corrupt(
                    path, f"its magic number is 0x{magic:08x}{actual}, not 0x{wanted:08x} ({kinds[wanted]})"
                )
            ndim = magic & 0xFF
            dims_bytes = stream.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                raise _corrupt(path, "its IDX header is cut short")
            dims = struct.unpack(f">{ndim}I", dims_bytes)
            if ndim == 3 and dims[1:] != (IMAGE_SIZE, IMAGE_SIZE):
                raise _corrupt(path, f"its images are {dims[1]}x{dims[2]}, not {IMAGE_SIZE}x{IMAGE_SIZE}")
            expected = math.prod(dims)
            try:
                data = np.empty(expected, dtype=np.uint8)
            except (MemoryError, ValueError) as exc:
                raise _corrupt(path, f"its header claims {dims[0]} items, too many to be real") from exc
            view = memoryview(data)
            filled = 0
            while filled < expected:
                got = stream.readinto(view[filled:])
                if not got:
                    break
                filled += got
            if filled < expected:
                raise _corrupt(path, f"its header announces {expected} bytes of data but only {filled} follow")
            if stream.read(1):
                raise _corrupt(path, f"more data follows the {expected} bytes its header announces")
    except DatasetNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from exc
    return data.reshape(dims)


def _read_emnist_mat(path: Path, n_classes: int) -> tuple[np.ndarray, ...]:
    """An official ``emnist-<split>.mat``: ``dataset`` struct with ``train``/``test`` structs of
    ``images`` (N, 784) uint8 (each row an image stored transposed) and ``labels`` (N, 1), and
    ``mapping`` (n_classes, 2 or 3): label -> character codes, used here to check the split."""
    try:
        import scipy.io  # noqa: PLC0415 - only needed for .mat files
    except ImportError as exc:  # pragma: no cover - scipy is in requirements.txt
        raise DatasetNotFoundError(
            f"{path} is a MATLAB file and reading it needs SciPy, which is not installed: "
            "pip install scipy, or use EMNIST's IDX files (gzip.zip) instead."
        ) from exc
    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5) files
        raise _corrupt(path, f"it is a MATLAB v7.3 (HDF5) file, which is not EMNIST's format ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - scipy raises ValueError, TypeError, OSError... on bad files
        raise _corrupt(path, f"it is not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc
    try:
        dataset = mat["dataset"][0][0]
        if "mapping" in (dataset.dtype.names or ()):
            n_mapped = len(np.asarray(dataset["mapping"]))
            if n_mapped != n_classes:
                raise _corrupt(
                    path, f"its mapping lists {n_mapped} classes, not {n_classes}: is it another split's file?"
                )
        arrays = []
        for split in ("train", "test"):
            part = dataset[split][0][0]
            images = np.asarray(part["images"])
            labels = np.asarray(part["labels"])
            if images.ndim != 2 or images.shape[1] != IMAGE_SIZE * IMAGE_SIZE:
                raise _corrupt(path, f"{split} images are {images.shape}, not (N, {IMAGE_SIZE * IMAGE_SIZE})")
            # Each row is one image in row-major order, transposed; _load_source transposes it back.
            images = _integral_uint8(images, path, f"{split} images")
            labels = _integral_uint8(labels, path, f"{split} labels")
            arrays += [images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), labels.reshape(-1)]
    except DatasetNotFoundError:
        raise
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise _corrupt(
            path, "it is not laid out like EMNIST's .mat files (dataset.train/test.images/labels)"
        ) from exc
    return tuple(arrays)


def _integral_uint8(array: np.ndarray, path: Path, what: str) -> np.ndarray:
    """``array`` as uint8 when every value is a whole number in 0..255 (MATLAB stores labels as double)."""
    if array.dtype == np.uint8:
        return array
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise _corrupt(path, f"its {what} are {array.dtype}, not numbers")
    if array.size and (
        not np.all(np.isfinite(array))
        or array.min() < 0
        or array.max() > 255
        or not np.array_equal(array, np.round(array))
    ):
        raise _corrupt(path, f"its {what} are not whole numbers in 0..255")
    return array.astype(np.uint8)
