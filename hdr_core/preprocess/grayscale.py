"""One channel that keeps the contrast between ink and paper, and the canvas's fast path."""

from __future__ import annotations

import cv2
import numpy as np

from .loading import _flatten_alpha, _scale_to_uint8
from .params import DEFAULT_PARAMS, Params


def _as_uint8_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an image array and bring it to uint8 (bool, uint16 and float [0, 1] accepted)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return _scale_to_uint8(image)
    if np.issubdtype(image.dtype, np.floating):
        if np.nanmin(image) < 0 or np.nanmax(image) > 1:
            raise ValueError(f"float {name} must hold values in [0, 1], got {np.nanmin(image):g}..{np.nanmax(image):g}")
        return np.clip(np.rint(np.nan_to_num(image) * 255), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        if image.min() < 0 or image.max() > 255:
            raise ValueError(f"integer {name} must hold values in 0..255, got {image.min()}..{image.max()}")
        return image.astype(np.uint8)
    raise ValueError(f"{name} has unsupported dtype {image.dtype}; use uint8")


def _check_gray(gray: np.ndarray, name: str = "gray") -> np.ndarray:
    gray = _as_uint8_image(gray, name)
    if gray.ndim != 2:
        raise ValueError(f"{name} must be a (H, W) grayscale image, got shape {gray.shape}")
    return gray


def to_grayscale(image: np.ndarray, *, params: Params | None = None) -> np.ndarray:
    """Convert to one channel, keeping the contrast between ink and paper.

    Parameters
    ----------
    image : (H, W), (H, W, 3) RGB or (H, W, 4) RGBA ndarray
        uint8 (bool, uint16 and float in [0, 1] are converted). Not modified.

    Returns
    -------
    gray : (H, W) uint8 ndarray
        Luma (ITU-R 601). When luma hides the ink (colour ink on paper of the same brightness, e.g.
        light blue on orange), the projection onto the image's principal colour axis is used instead,
        oriented so that lighter colours stay lighter. RGBA is first flattened like ``load_image``.
    """
    params = DEFAULT_PARAMS if params is None else params
    return _grayscale(_as_uint8_image(image), params=params)[0]


def _grayscale(image: np.ndarray, *, params: Params) -> tuple[np.ndarray, str]:
    """``to_grayscale`` of a validated uint8 image, and one sentence saying how it was made."""
    if image.ndim == 2:
        return image.copy(), "The picture is grey already."
    rgb = _flatten_alpha(image, params=params) if image.shape[2] == 4 else image
    rgb = np.ascontiguousarray(rgb)
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    spread = _spread(luma)
    if spread >= params.grayscale.low_luma_contrast:
        return luma, "Colour dropped, brightness (luma) kept."
    gray = _principal_axis_gray(rgb, luma, params=params)
    if gray is luma:
        return luma, f"Colour dropped, brightness (luma) kept; it spans only {spread:.0f} grey levels."
    return gray, (
        f"Brightness spans only {spread:.0f} grey levels (colour ink on paper as bright), so the grey "
        "levels follow the picture's main colour difference instead."
    )


def _histogram(gray: np.ndarray) -> np.ndarray:
    """(256,) float64 counts of each grey level of a uint8 image (OpenCV: faster than bincount)."""
    return cv2.calcHist([np.ascontiguousarray(gray)], [0], None, [256], [0, 256]).ravel().astype(np.float64)


def _spread(gray: np.ndarray, hist: np.ndarray | None = None, tail: float = 0.001) -> float:
    """Robust range of grey levels: the (1 - tail) quantile minus the tail quantile (default 99.9th
    minus 0.1th percentile), from the histogram (fast)."""
    hist = (_histogram(gray) if hist is None else hist).cumsum()
    total = hist[-1]
    low = int(np.searchsorted(hist, tail * total))
    high = int(np.searchsorted(hist, (1 - tail) * total))
    return float(high - low)


def _principal_axis_gray(rgb: np.ndarray, luma: np.ndarray, *, params: Params) -> np.ndarray:
    """Project colours on the axis along which they vary most (keeps colour-on-colour ink visible)."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 20_000)))  # about 20k pixels suffice
    sample = rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    chroma = sample.max(axis=1) - sample.min(axis=1)
    if np.percentile(chroma, 99) < params.grayscale.gray_chroma:
        return luma  # a grey picture: luma is all there is
    values, vectors = np.linalg.eigh(np.cov(sample.T))
    sample_luma = luma[::step, ::step].reshape(-1).astype(np.float64)
    if values[-1] < 1.0 or sample_luma.std() == 0:
        return luma  # one flat colour: nothing to gain
    axis = vectors[:, -1]
    if np.corrcoef(sample @ axis, sample_luma)[0, 1] < 0:
        axis = -axis
    # Scaled like luma (a grey axis gives back luma), centred on the picture's mean luma.
    full = rgb.reshape(-1, 3).astype(np.float32) @ axis.astype(np.float32) / np.sqrt(3.0)
    full = full - full.mean() + float(luma.mean())
    candidate = np.clip(np.rint(full), 0, 255).astype(np.uint8).reshape(luma.shape)
    return candidate if _spread(candidate) > 1.5 * _spread(luma) else luma


def from_canvas(rgba: np.ndarray, *, params: Params | None = None) -> np.ndarray:
    """Turn streamlit-drawable-canvas ``image_data`` into a grayscale image with bright ink on black.

    Fast (pure NumPy/OpenCV, well under a millisecond for 280x280). Strokes drawn on the untouched,
    transparent canvas are read from the alpha channel, whatever their colour. When the background
    was painted too (no transparency left), ink is the colour distance from the background colour
    (the median of the border), so white-on-black, black-on-white and colour-on-colour all work.

    Parameters
    ----------
    rgba : (H, W, 4) uint8 ndarray
        The canvas's ``image_data``. Not modified.

    Returns
    -------
    gray : (H, W) uint8 ndarray
        Ink bright on black (all zeros for an empty canvas).
    """
    params = DEFAULT_PARAMS if params is None else params
    if not isinstance(rgba, np.ndarray) or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"canvas image_data must be an (H, W, 4) RGBA array, got {getattr(rgba, 'shape', rgba)}")
    if rgba.dtype != np.uint8:
        raise ValueError(f"canvas image_data must be uint8, got {rgba.dtype}")
    alpha = rgba[:, :, 3]
    transparent_share = np.count_nonzero(alpha == 0) / alpha.size
    if transparent_share >= params.load.transparent_background_share:
        return alpha.copy()  # strokes on the untouched canvas: opacity is the ink
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0).astype(np.uint8)
    distance = cv2.absdiff(rgb, np.broadcast_to(background, rgb.shape).copy())
    ink = distance.max(axis=2)
    if transparent_share > 0:
        ink[alpha == 0] = 0  # any untouched corner of a partly painted canvas is background
    return ink
