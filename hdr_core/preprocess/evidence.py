"""What a picture shows before any corrective stage runs: its noise, whether it holds ink at all, and
whether it is clean (even paper, one stroke-shaped blob of ink), so that the textbook path reads it.

Every corrective stage (sheet and desk, shadows and local contrast, ruled lines, marks, joining broken
strokes) runs only on a picture that is not clean, and then only on its own evidence. A clean picture
is read by the textbook path: threshold, ink bright, the blob of ink cropped, normalised.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .components import _components, _gap, _stroke_width
from .desk import _cut_desk_strips
from .lines import _find_rule_lines
from .marks import _without_marks
from .params import Params

NOISE_ROWS = 400  # the noise is measured on at most this many rows, spread over the picture (fast on any size)


@dataclass(frozen=True)
class Look:
    """What the picture shows (``look``): its noise and the split of its grey levels into paper and ink.

    Attributes
    ----------
    noise : float
        The sensor's or the file's noise after averaging over 3x3 pixels: the standard deviation of a pixel
        about its neighbours, in grey levels (a robust estimate: edges and strokes are a minority of pixel
        pairs; the raw picture's, divided by 3, when that is smaller). 0 for a clean drawing.
    paper, ink : float
        The median grey levels of the two sides of Otsu's split, the majority side being the paper (see
        ``with_ink`` to orient them as the inversion decided).
    contrast : float
        ``|ink - paper|``: how far the ink stands from the paper, in grey levels.
    structure : bool
        Whether the picture holds something to read: the two sides stand apart by at least
        ``params.blank.noise_multiple`` times the noise and ``params.blank.min_levels`` grey levels.
        A blank page, a uniform colour and pure noise do not.
    """

    noise: float
    paper: float
    ink: float
    contrast: float
    structure: bool
    dark_tail: float = 0.0
    light_tail: float = 0.0
    dark_beyond: float = 0.0
    light_beyond: float = 0.0
    split: float = 128.0  # Otsu's level between the two sides (levels above it are the lighter side)

    @property
    def ink_tail(self) -> float:
        """The share of the ink's side lying beyond its median, away from the paper, by over half the contrast:
        strokes darker than a patch the split also took for ink (a shadow, a desk). Near 0 on a clean picture."""
        return self.dark_tail if self.ink < self.paper else self.light_tail

    @property
    def paper_tail(self) -> float:
        """The share of the whole picture lying beyond the paper's level, away from the ink, by at least the
        contrast: a third level (light strokes on a dark page the split took for ink, on a desk it took for
        paper). Near 0 on a clean picture, where nothing is brighter than white paper or darker than a black one."""
        return self.light_beyond if self.ink < self.paper else self.dark_beyond

    def with_ink(self, *, dark: bool) -> Look:
        """The same, with the ink the darker side (``dark``) or the lighter one, whichever the majority."""
        low, high = sorted((self.paper, self.ink))
        paper, ink = (high, low) if dark else (low, high)
        return replace(self, paper=paper, ink=ink)


def noise_level(gray: np.ndarray) -> float:
    """(H, W) uint8 -> the noise's standard deviation in grey levels, from neighbouring pixels' differences.

    The median absolute difference of neighbours (on at most ``NOISE_ROWS`` lines) is scaled to a Gaussian's
    sigma: strokes and edges cross few pixel pairs, so they barely move the median. Measured along rows and
    along columns, the smaller is kept: in a crop a few pixels wide (a tight "1") the stroke's two edges are
    most of the horizontal pairs, not of the vertical ones.
    """
    estimates = []
    for lines in (gray, gray.T):  # along rows, then along columns
        step = max(1, lines.shape[0] // NOISE_ROWS)
        rows = lines[::step].astype(np.int16)
        if rows.shape[1] >= 2:
            estimates.append(float(np.median(np.abs(np.diff(rows, axis=1)))) * 1.4826 / np.sqrt(2))
    return min(estimates, default=0.0)


def look(gray: np.ndarray, *, params: Params) -> Look:
    """The noise, Otsu's split of the grey levels and whether the picture holds anything to read.

    Measured on the picture averaged over 3x3 pixels: noise and dithering shrink there, strokes keep their
    contrast (pure noise keeps its ratio of contrast to noise, so it stays blank).

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
    """
    smooth = cv2.blur(gray, (3, 3)) if min(gray.shape) >= 3 else gray
    hist = cv2.calcHist([smooth], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    level, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    split = int(level) + 1
    low, high = hist[:split], hist[split:]
    # Averaging 3x3 divides white noise by 3. On a small picture dense with soft strokes (a postal digit saved
    # 16 px high) it also turns nearly every pixel pair into a ramp, which the estimate would take for noise;
    # the raw picture's flat stroke cores and paper still show the real noise there.
    noise = min(noise_level(smooth), noise_level(gray) / 3)
    if not low.sum() or not high.sum():
        return Look(noise, float(np.argmax(hist)), float(np.argmax(hist)), 0.0, False)
    low_median = float(np.searchsorted(low.cumsum(), low.sum() / 2))
    high_median = split + float(np.searchsorted(high.cumsum(), high.sum() / 2))
    paper, ink = (high_median, low_median) if high.sum() >= low.sum() else (low_median, high_median)
    contrast = abs(paper - ink)
    if max(gray.shape) < params.blank.small_side:
        # Too few pixels for the neighbours' differences: in a digit kept 8 px high (each pixel a block's share of
        # ink) nearly every pair is a ramp. The paper's own spread about its level measures the noise there.
        side = gray[gray > level] if paper > level else gray[gray <= level]
        if side.size:
            noise = min(noise, float(np.median(np.abs(side.astype(np.float64) - np.median(side)))) * 1.4826)
    structure = bool(contrast >= max(params.blank.min_levels, params.blank.noise_multiple * noise))
    levels = np.arange(256)
    dark_tail = float(low[levels[:split] < low_median - contrast / 2].sum() / low.sum())
    light_tail = float(high[levels[split:] > high_median + contrast / 2].sum() / high.sum())
    dark_beyond = float(low[levels[:split] < low_median - contrast].sum() / hist.sum())
    light_beyond = float(high[levels[split:] > high_median + contrast].sum() / hist.sum())
    return Look(noise, paper, ink, contrast, structure, dark_tail, light_tail, dark_beyond, light_beyond, float(level))


def clean_reason(gray: np.ndarray, ink: np.ndarray, seen: Look, *, numbers: bool, params: Params
                 ) -> tuple[bool, str]:
    """Whether the picture is clean, and one sentence saying why (or what evidence it shows otherwise).

    Clean means all of (``CleanParams``): the paper is even (its levels, past the ink's rim, span at most
    ``params.clean.paper_spread_share`` of the ink's contrast, or a few times the noise) and the threshold
    takes none of it for ink; the ink has one level (no strokes inside a darker patch) and the picture two
    (nothing beyond the paper, away from the ink; Otsu's split takes the threshold's ink); the picture's edge is
    mostly paper; no strip of ink runs along a side at an even depth (a desk, a shadow's band; a digit
    touching the edge is none); the ink is one stroke-shaped blob with at most two loops and its pieces near
    it (one digit; for ``numbers``, any number of them); no ruled lines cross it; no box, circle or underline
    is drawn round it.

    Parameters
    ----------
    gray : (H, W) uint8 ndarray
    ink : (H, W) bool ndarray
        The threshold's ink, bright side True (``auto_invert(...).ink``).
    seen : Look
        ``look(gray, ...)``.
    """
    reason, uneven = _levels_reason(gray, ink, seen, params=params)
    if reason is None:
        reason = _shape_reason(ink.astype(np.uint8), numbers=numbers, params=params)
    if reason is not None:
        return False, reason
    what = "one row of digits" if numbers else "one blob of ink"
    return True, (f"A clean picture: even paper (within {uneven:.0f} grey levels), ink {seen.contrast:.0f} levels from "
                  f"it, {what}. No sheet, desk, shadow, ruled lines or marks to correct: the textbook's steps read it.")




def _levels_reason(gray: np.ndarray, ink: np.ndarray, seen: Look, *, params: Params) -> tuple[str | None, float]:
    """What in the picture's levels says it is not clean (None: nothing), and how much the paper varies."""
    uneven = 0.0
    if seen.ink_tail > params.clean.ink_tail_share:
        flat = _flat_middle_share(gray, seen, params=params)
        if flat > params.clean.ink_plateau_share:
            return (f"The ink has two levels: {seen.ink_tail:.0%} of it is much darker (or brighter) than the rest, "
                    f"which lies on flat ground ({flat:.0%} of it), as strokes in a shadow or beside a desk do."), uneven
    if seen.paper_tail > params.clean.paper_tail_share:
        return (f"The picture has a third level: {seen.paper_tail:.1%} of it lies beyond the paper, away from "
                "the ink, as light strokes on a dark page lying on a desk do."), uneven
    # Otsu's split, oriented as the inversion chose, takes the same pixels for ink as the threshold did; on a
    # picture of three levels (strokes on a page on a desk) the two fall between different pairs of them.
    split_ink = gray <= seen.split if seen.ink < seen.paper else gray > seen.split
    union = np.count_nonzero(ink | split_ink)
    agree = np.count_nonzero(ink & split_ink) / union if union else 1.0
    if agree < params.clean.split_agreement:
        return (f"The picture has more than two levels: two thresholds agree on only {agree:.0%} of the ink "
                "(strokes on a page lying on a desk, or a shadow)."), uneven
    border = border_share(ink)
    if border > params.clean.border_share:
        return f"The ink covers {border:.0%} of the picture's edge, where a clean picture shows its paper.", uneven
    paper = _paper_far_from_ink(gray, seen, params=params)
    uneven = _spread(gray[paper])
    allowed = max(params.clean.paper_spread_share * seen.contrast, params.clean.paper_spread_noise * seen.noise,
                  params.clean.paper_spread_floor)
    if uneven > allowed:
        return (f"The paper's level varies by {uneven:.0f} grey levels across the picture (a shadow, uneven "
                f"light or a desk), against ink {seen.contrast:.0f} levels from it."), uneven
    # Paper the threshold takes for ink, clearly off the paper's level (not the ringing of an upscaled edge)
    off = max(params.blank.min_levels, params.clean.taken_noise * seen.noise)
    beyond = np.abs(gray.astype(np.float32) - np.float32(seen.paper)) >= off
    taken = float(np.count_nonzero(ink & beyond & paper)) / ink.size
    if taken > params.clean.paper_taken_share:
        return (f"The threshold takes paper away from the ink for ink ({taken:.1%} of the picture: texture, "
                "grain or a faint shadow)."), uneven
    return None, uneven


def _flat_middle_share(gray: np.ndarray, seen: Look, *, params: Params) -> float:
    """The share of the ink's side of Otsu's split, short of its darker (or brighter) tail, that lies on flat
    ground: a patch at a level of its own (a shadow, a desk) rather than the slope from a stroke's core down to
    the paper (a soft or blurred stroke's rim). Soft strokes in real photos measure 2-10%, digits enlarged from
    8x8 13-25%, strokes in a hard shadow or under light falling off 70% or more.

    Flat is a slope that would cross the ink's contrast over more than ``params.clean.ramp_length_share`` of
    the picture's short side (and under ``params.clean.ramp_noise`` times the noise): lighting changes that
    slowly; a stroke's edge, however soft, within its own width. ``gray``: (H, W) uint8; ``seen``: ``look``'s,
    oriented (``Look.with_ink``).
    """
    scale = min(1.0, params.clean.ramp_work_side / max(gray.shape))
    if scale < 1:  # a large photo is measured on a copy (the threshold of flat scales with the side)
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    smooth = cv2.blur(gray, (3, 3)) if min(gray.shape) >= 3 else gray
    smooth = smooth.astype(np.float32)
    half = seen.contrast / 2
    if seen.ink < seen.paper:
        middle = (smooth <= seen.split) & (smooth >= seen.ink - half)
    else:
        middle = (smooth > seen.split) & (smooth <= seen.ink + half)
    count = np.count_nonzero(middle)
    if not count:
        return 0.0
    # Sobel's 3x3 kernels weigh 4 pixel pairs 2 apart: /8 gives grey levels per pixel.
    slope = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)) / 8
    flat = max(seen.contrast / (params.clean.ramp_length_share * min(gray.shape)), params.clean.ramp_noise * seen.noise)
    return float(np.count_nonzero(middle & (slope < flat))) / count


def _shape_reason(mask: np.ndarray, *, numbers: bool, params: Params) -> str | None:
    """What in the ink's shape says the picture is not clean (None: nothing). ``mask`` is (H, W) uint8."""
    if _cut_desk_strips(mask, params=params) is not mask:
        return "A strip of ink runs along a side of the picture at an even depth (a desk or a shadow's band)."
    comps = _components(mask)
    sizeable = [i for i in range(1, comps.count) if comps.area(i) >= params.locate.min_speck_area]
    if not sizeable:
        return "No blob of ink stands out."
    largest = max(sizeable, key=comps.area)
    floor = params.locate.speck_share_of_largest * comps.area(largest)
    pieces = [i for i in sizeable if comps.area(i) >= floor]
    box = comps.box(largest)
    width = comps.stroke_width(largest)
    if width > params.clean.stroke_share * max(box.w, box.h):
        return "The largest patch of ink is solid, not strokes (a sheet, a desk or a shadow?)."
    # A thick band along a long side: a shadow's or a desk's edge. In a tight crop (ink on all four sides) a bold
    # stroke runs along a side as well: a "1" is as wide as its crop.
    sides = np.array([mask.shape[1], mask.shape[1], mask.shape[0], mask.shape[0]], np.float64)
    along = np.where(sides >= max(mask.shape) / 2, comps.border_counts[:, largest] / sides, 0.0)
    tight = bool(mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any())
    thick = width > params.clean.band_stroke_share * max(box.w, box.h)
    if not tight and thick and along.max() >= params.desk.band_side_share:
        return "A thick patch of ink runs along a whole side of the picture (a shadow's or a desk's edge)."
    holes = _holes(comps.labels[box.slices] == largest)
    if holes > params.clean.max_holes:
        return f"The largest patch of ink surrounds {holes} pieces of paper (a digit has at most two loops)."
    if not numbers:
        reach = params.locate.near_factor * max(box.w, box.h)
        far = [i for i in pieces if i != largest and _gap(comps.box(i), box) > reach]
        if far:
            patches = f"{len(far)} more patch{'es' if len(far) > 1 else ''}"
            return f"Besides the digit, {patches} of ink {'lie' if len(far) > 1 else 'lies'} away from it."
    if _find_rule_lines(mask, params=params) is not None:
        return "Long straight lines cross the picture (ruled or squared paper)."
    if len(_without_marks(comps, pieces, numbers=numbers, params=params)[0]) < len(pieces):
        return "A box, circle or underline is drawn round the ink."
    return None


def _paper_far_from_ink(gray: np.ndarray, seen: Look, *, params: Params) -> np.ndarray:
    """(H, W) bool: the paper away from the ink, past its anti-aliased rim: farther than its strokes are
    wide, and at least ``params.clean.paper_inset`` of the short side, from the ink's core (the pixels
    nearer the ink's own level than the paper's, whatever the threshold). Texture, shadows and
    a desk that a threshold would take for ink are paper here."""
    half = seen.contrast / 2
    core = (gray <= seen.ink + half) if seen.ink < seen.paper else (gray >= seen.ink - half)
    inset = max(1, round(params.clean.paper_inset * min(gray.shape)))
    if core.any():
        inset = max(inset, int(np.ceil(_stroke_width(core))))
    near_ink = cv2.dilate(core.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (2 * inset + 1,) * 2))
    return near_ink == 0


def _holes(component: np.ndarray) -> int:
    """How many holes (a loop's inside) the (h, w) bool component has, counting those of at least a
    thousandth of its area (specks of paper in a stroke are none; a digit written on a sheet taken for ink is
    one)."""
    contours, hierarchy = cv2.findContours(component.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return 0
    least = max(4.0, 0.001 * np.count_nonzero(component))
    inner = [c for c, h in zip(contours, hierarchy[0]) if h[3] >= 0]  # contours with a parent: holes
    return sum(cv2.contourArea(c) >= least for c in inner)


def _spread(levels: np.ndarray) -> float:
    """p95 - p5 of some grey levels (0 for fewer than 16), on at most 200,000 of them."""
    if levels.size < 16:
        return 0.0
    step = max(1, levels.size // 200_000)
    low, high = np.percentile(levels[::step], (5, 95))
    return float(high - low)


def border_share(ink: np.ndarray) -> float:
    """The share of the picture's outermost pixels that ``ink`` ((H, W) bool) covers."""
    return float(np.concatenate([ink[0], ink[-1], ink[1:-1, 0], ink[1:-1, -1]]).mean())

