"""Drawings that are not digits, generated, for teaching a network what a digit is not.

A student asked to draw a digit sometimes draws a cross, a smiley, a word or a scribble. The digit network
has never seen one and answers with a digit anyway. The digit check (``digit_check.py``) learns the
difference from MNIST's digits and from these drawings: strokes and shapes of many families (signs, shapes,
children's drawings, letters and symbols in OpenCV's Hershey fonts, scribbles), each with random size,
position, rotation, wobble and pen width, so no family is one picture.

Shapes that *are* digits, or nearly, are left out on purpose: a lone upright stroke (a 1), a plain ring or a
many-sided polygon (a 0), a tick (a 1 with its flag), a zigzag of four strokes or fewer (Z, N: a 2 or a 7),
and the letters a reader would take for digits (O, I, l, S, Z, B, b, g, q...). So is a grid with an O in it,
or crossing curves: the preprocessing keeps one piece of them, and that piece is often a digit. Everything is
drawn from a ``numpy.random.Generator``, so a seed reproduces the set. Only NumPy and OpenCV are used.

The families generalise to kinds they do not hold only in part (``docs/benchmarks.md``: trained without
crosses, faces, boxes and letters, the check still flags 83% of a benchmark made of them): a kind of
drawing a class produces that is flagged too rarely belongs here as a family of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

SIDE = 140  # drawings are (SIDE, SIDE) uint8, ink 255 on 0: the Draw page's working size

# Letters and signs a reader would take for a digit (0 O o D Q, 1 I i l | ! ( ), 2 Z z, 5 S s, 6 b G,
# 8 B & $, 9 g q, 7 T, 3 }): never used as "not a digit".
DIGIT_LIKE = set("0123456789OoDQIilj|!()[]{}/\\ZzSsbGBgqT&$")
LETTERS = "".join(c for c in "ACEFHKLMNPRUVWXYacdefhkmnprtuvwxy" if c not in DIGIT_LIKE)
SYMBOLS = "#%@?*=+<>~^"
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX, cv2.FONT_HERSHEY_PLAIN,
         cv2.FONT_HERSHEY_COMPLEX_SMALL)


def _canvas() -> np.ndarray:
    return np.zeros((SIDE, SIDE), np.uint8)


def _wobble(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Points resampled densely and pushed about smoothly, as a hand would draw them."""
    points = np.asarray(points, np.float64)
    if len(points) < 2:
        return points
    dense = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        steps = max(2, int(np.hypot(*(b - a)) / 6))
        dense += [a + (b - a) * t for t in np.linspace(0, 1, steps)[1:]]
    dense = np.array(dense)
    if amount:
        noise = rng.normal(0, amount, dense.shape)
        kernel = np.ones(5) / 5
        noise = np.stack([np.convolve(np.pad(noise[:, k], 2, mode="edge"), kernel, mode="valid") for k in range(2)],
                         axis=1)
        dense = dense + noise
    return dense


def _stroke(image: np.ndarray, points, width: int, rng: np.random.Generator, *, closed: bool = False,
            wobble: float | None = None) -> None:
    points = np.asarray(points, np.float64)
    if closed:
        points = np.vstack([points, points[:1]])
    amount = rng.uniform(0, 1.5) if wobble is None else wobble
    drawn = np.round(_wobble(points, rng, amount)).astype(np.int32)
    cv2.polylines(image, [drawn], False, 255, int(width), cv2.LINE_AA)


def _ellipse_points(centre, axes, start: float = 0, end: float = 360, angle: float = 0, n: int = 48):
    t = np.radians(np.linspace(start, end, n))
    x, y = axes[0] * np.cos(t), axes[1] * np.sin(t)
    a = np.radians(angle)
    return np.stack([centre[0] + x * np.cos(a) - y * np.sin(a), centre[1] + x * np.sin(a) + y * np.cos(a)], 1)


def _rotate(points, angle_deg: float, centre=(SIDE / 2, SIDE / 2)) -> np.ndarray:
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (np.asarray(points, np.float64) - centre) @ rot.T + centre


def _dash(img, rng, w):
    y = rng.uniform(30, 110)
    length = rng.uniform(50, 120)
    x0 = rng.uniform(10, SIDE - 10 - length)
    angle = rng.uniform(-30, 30)
    _stroke(img, _rotate([[x0, y], [x0 + length, y]], angle, (x0 + length / 2, y)), w, rng)


def _cross(img, rng, w):
    c = rng.uniform(55, 85, 2)
    r1, r2 = rng.uniform(30, 60, 2)
    a = rng.uniform(25, 65)
    b = a + rng.uniform(70, 110)
    for ang, r in ((a, r1), (b, r2)):
        d = np.array([np.cos(np.radians(ang)), np.sin(np.radians(ang))]) * r
        _stroke(img, [c - d, c + d], w, rng)


def _plus(img, rng, w):
    c = rng.uniform(55, 85, 2)
    r1, r2 = rng.uniform(30, 60, 2)
    tilt = rng.uniform(-12, 12)
    _stroke(img, _rotate([c - [r1, 0], c + [r1, 0]], tilt, c), w, rng)
    _stroke(img, _rotate([c - [0, r2], c + [0, r2]], tilt, c), w, rng)


def _parallels(img, rng, w):
    """=, three bars, or a hash # (two pairs crossing)."""
    n = int(rng.integers(2, 4))
    gap = rng.uniform(18, 35)
    tilt = rng.uniform(-15, 15)
    top = SIDE / 2 - gap * (n - 1) / 2
    for k in range(n):
        y = top + k * gap
        _stroke(img, _rotate([[25, y], [115, y]], tilt), w, rng)
    if rng.random() < 0.5:  # a hash
        for k in range(2):
            x = SIDE / 2 + (k - 0.5) * gap * rng.uniform(1, 1.6)
            _stroke(img, _rotate([[x + 8, 20], [x - 8, 120]], tilt), w, rng)


def _zigzag(img, rng, w):
    n = int(rng.integers(5, 10))  # four strokes or fewer make a Z, an N or a 2
    xs = np.linspace(15, 125, n + 1)
    amp = rng.uniform(20, 50)
    mid = rng.uniform(50, 90)
    ys = mid + amp * np.where(np.arange(n + 1) % 2, -1, 1) * rng.uniform(0.6, 1, n + 1)
    points = np.stack([xs, ys], 1)
    if rng.random() < 0.3:
        points = points[:, ::-1]  # running down the page
    _stroke(img, _rotate(points, rng.uniform(-20, 20)), w, rng)


def _wave(img, rng, w):
    xs = np.linspace(15, 125, 60)
    periods = rng.uniform(1.5, 4)
    ys = SIDE / 2 + rng.uniform(15, 35) * np.sin(np.linspace(0, 2 * np.pi * periods, 60) + rng.uniform(0, 6))
    _stroke(img, _rotate(np.stack([xs, ys], 1), rng.uniform(-25, 25)), w, rng, wobble=0.5)


def _spiral(img, rng, w):
    turns = rng.uniform(2, 3.5)
    t = np.linspace(0, 2 * np.pi * turns, 160)
    r = np.linspace(4, rng.uniform(45, 62), 160)
    sign = 1 if rng.random() < 0.5 else -1
    points = np.stack([SIDE / 2 + r * np.cos(sign * t), SIDE / 2 + r * np.sin(sign * t)], 1)
    _stroke(img, points, max(3, w * 2 // 3), rng, wobble=0.3)


def _scribble(img, rng, w):
    n = int(rng.integers(6, 16))
    points = rng.uniform(20, 120, (n, 2))
    if rng.random() < 0.5:  # a tangle: many short loops on one spot
        t = np.linspace(0, 2 * np.pi * rng.uniform(4, 8), 120)
        c = rng.uniform(55, 85, 2)
        r = rng.uniform(15, 40)
        points = np.stack([c[0] + r * np.cos(t) + rng.normal(0, 10, 120).cumsum() / 6,
                           c[1] + r * 0.6 * np.sin(1.7 * t)], 1)
    _stroke(img, points, w, rng)


def _polygon(img, rng, w):
    sides = int(rng.choice([3, 4, 4]))  # five or more sides round into a 0
    r = rng.uniform(35, 60)
    start = rng.uniform(0, 360)
    angles = np.radians(start + np.arange(sides) * 360 / sides)
    stretch = rng.uniform(0.7, 1.3)
    points = np.stack([SIDE / 2 + r * np.cos(angles) * stretch, SIDE / 2 + r * np.sin(angles) / stretch], 1)
    if sides == 4 and rng.random() < 0.6:  # an upright box or rectangle
        hw, hh = rng.uniform(30, 60), rng.uniform(30, 60)
        points = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]]) + SIDE / 2
    _stroke(img, points, w, rng, closed=True)


def _star(img, rng, w):
    r = rng.uniform(45, 62)
    start = rng.uniform(0, 72)
    angles = np.radians(start + np.arange(5) * 144)
    _stroke(img, np.stack([SIDE / 2 + r * np.cos(angles), SIDE / 2 + r * np.sin(angles)], 1), w, rng, closed=True)


def _face(img, rng, w):
    c = np.array([SIDE / 2, SIDE / 2]) + rng.uniform(-8, 8, 2)
    r = rng.uniform(45, 62)
    _stroke(img, _ellipse_points(c, (r, r * rng.uniform(0.85, 1.1))), w, rng, closed=True)
    eye = r * rng.uniform(0.3, 0.45)
    for side in (-1, 1):
        p = (int(c[0] + side * eye), int(c[1] - r * 0.3))
        cv2.circle(img, p, max(2, int(w * rng.uniform(0.6, 1.2))), 255, -1)
    smile = 1 if rng.random() < 0.75 else -1
    mouth_c = (c[0], c[1] + r * (0.1 if smile > 0 else 0.55))
    start, end = (20, 160) if smile > 0 else (200, 340)
    _stroke(img, _ellipse_points(mouth_c, (r * 0.5, r * 0.35), start, end, n=20), w, rng)


def _marked_ring(img, rng, w):
    """A ring with something a 0 never has: a cross inside, a second ring inside, rays round it.

    (Not a dot inside: the preprocessing drops a small dot as a speck, and what is left is a 0.)
    """
    c = np.array([SIDE / 2, SIDE / 2])
    r = rng.uniform(35, 55)
    _stroke(img, _ellipse_points(c, (r, r)), w, rng, closed=True)
    kind = int(rng.integers(0, 3))
    if kind == 0:
        d = r * 0.55
        _stroke(img, [c - d, c + d], w, rng)
        _stroke(img, [c + [-d, d], c + [d, -d]], w, rng)
    elif kind == 1:
        inner = r * rng.uniform(0.35, 0.55)
        _stroke(img, _ellipse_points(c, (inner, inner)), max(3, w * 2 // 3), rng, closed=True)
    else:  # a sun
        for ang in np.linspace(0, 2 * np.pi, int(rng.integers(6, 11)), endpoint=False):
            d = np.array([np.cos(ang), np.sin(ang)])
            _stroke(img, [c + d * (r + 8), c + d * (r + rng.uniform(18, 28))], max(3, w * 2 // 3), rng)


def _arrow(img, rng, w):
    angle = rng.uniform(0, 360)
    length = rng.uniform(70, 110)
    a = np.array([SIDE / 2 - length / 2, SIDE / 2])
    b = a + [length, 0]
    head = rng.uniform(18, 30)
    strokes = [[a, b], [b, b + [-head, -head * 0.8]], [b, b + [-head, head * 0.8]]]
    for s in strokes:
        _stroke(img, _rotate(s, angle), w, rng)


def _heart(img, rng, w):
    t = np.linspace(0, 2 * np.pi, 80)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    s = rng.uniform(2.8, 3.8)
    _stroke(img, _rotate(np.stack([SIDE / 2 + s * x, SIDE / 2 + s * y], 1), rng.uniform(-20, 20)), w, rng)


def _house(img, rng, w):
    left, right = rng.uniform(25, 45), rng.uniform(95, 115)
    floor, wall = rng.uniform(110, 125), rng.uniform(60, 75)
    roof = rng.uniform(15, 35)
    _stroke(img, [[left, wall], [left, floor], [right, floor], [right, wall], [left, wall],
                  [(left + right) / 2, roof], [right, wall]], w, rng)


def _stick_figure(img, rng, w):
    x = SIDE / 2 + rng.uniform(-10, 10)
    cv2.circle(img, (int(x), 30), 14, 255, max(2, w // 2))
    _stroke(img, [[x, 44], [x, 90]], w, rng)
    _stroke(img, [[x - 30, 60 + rng.uniform(-10, 10)], [x + 30, 60 + rng.uniform(-10, 10)]], w, rng)
    _stroke(img, [[x - 25, 125], [x, 90], [x + 25, 125]], w, rng)


def _text(img, rng, w, chars: str, n: int):
    text = "".join(rng.choice(list(chars)) for _ in range(n))
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
    thickness = max(2, w // 2)
    scale = 1.0
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    scale = rng.uniform(0.6, 0.9) * min(SIDE / max(tw, 1), SIDE / max(th, 1))
    thickness = max(2, int(w * rng.uniform(0.3, 0.7)))
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    origin = (int((SIDE - tw) / 2 + rng.uniform(-5, 5)), int((SIDE + th) / 2 + rng.uniform(-5, 5)))
    cv2.putText(img, text, origin, font, scale, 255, thickness, cv2.LINE_AA, bottomLeftOrigin=False)


def _letter(img, rng, w):
    _text(img, rng, w, LETTERS, 1)


def _word(img, rng, w):
    _text(img, rng, w, LETTERS, int(rng.integers(2, 5)))


def _symbol(img, rng, w):
    _text(img, rng, w, SYMBOLS, 1)


def _dots(img, rng, w):
    for _ in range(int(rng.integers(4, 10))):
        p = rng.uniform(20, 120, 2).astype(int)
        cv2.circle(img, (int(p[0]), int(p[1])), int(max(3, w * rng.uniform(0.6, 1.3))), 255, -1)


def _bumpy_outline(img, rng, w):
    """A cloud or a splat: a closed outline whose radius swings by a third, five to nine times round."""
    bumps = int(rng.integers(5, 10))
    t = np.linspace(0, 2 * np.pi, 120)
    r = rng.uniform(35, 50) * (1 + rng.uniform(0.25, 0.4) * np.abs(np.sin(bumps * t / 2 + rng.uniform(0, 3))))
    _stroke(img, np.stack([SIDE / 2 + r * np.cos(t), SIDE / 2 + r * np.sin(t) * rng.uniform(0.7, 1.0)], 1),
            max(3, w * 2 // 3), rng, wobble=0.4)


def _flower(img, rng, w):
    """A small ring with five to eight petals round it."""
    c = np.array([SIDE / 2, SIDE / 2])
    core = rng.uniform(10, 16)
    cv2.circle(img, (int(c[0]), int(c[1])), int(core), 255, max(2, w // 2))
    n = int(rng.integers(5, 9))
    for ang in np.linspace(0, 360, n, endpoint=False) + rng.uniform(0, 40):
        centre = c + (core + 18) * np.array([np.cos(np.radians(ang)), np.sin(np.radians(ang))])
        _stroke(img, _ellipse_points(centre, (18, 8), angle=ang, n=24), max(2, w // 2), rng, closed=True, wobble=0.3)


def _infinity(img, rng, w):
    """The lemniscate, lying down (an 8 stood up is a digit; lying down it is not)."""
    t = np.linspace(0, 2 * np.pi, 120)
    a = rng.uniform(45, 60)
    x, y = a * np.cos(t) / (1 + np.sin(t) ** 2), a * np.sin(t) * np.cos(t) / (1 + np.sin(t) ** 2)
    _stroke(img, _rotate(np.stack([SIDE / 2 + x, SIDE / 2 + y * rng.uniform(1, 1.5)], 1), rng.uniform(-15, 15)),
            max(3, w * 2 // 3), rng, wobble=0.3)


def _fish(img, rng, w):
    """An oval body, a triangle of a tail, an eye."""
    c = np.array([SIDE / 2 + 10, SIDE / 2])
    body = _ellipse_points(c, (rng.uniform(32, 40), rng.uniform(16, 22)), n=60)
    _stroke(img, body, max(3, w * 2 // 3), rng, closed=True, wobble=0.4)
    tail = c[0] - 38
    _stroke(img, [[tail, c[1]], [tail - 26, c[1] - 20], [tail - 26, c[1] + 20], [tail, c[1]]], max(3, w * 2 // 3), rng)
    cv2.circle(img, (int(c[0] + 22), int(c[1] - 5)), max(2, w // 3), 255, -1)


def _hatching(img, rng, w):
    """Four to eight short parallel strokes side by side (////, or a row of tally marks)."""
    n = int(rng.integers(4, 9))
    lean = rng.uniform(-25, 25)
    length = rng.uniform(35, 60)
    xs = np.linspace(25, 115, n)
    for x in xs:
        d = np.array([np.sin(np.radians(lean)), np.cos(np.radians(lean))]) * length / 2
        _stroke(img, [np.array([x, SIDE / 2]) - d, np.array([x, SIDE / 2]) + d], max(3, w * 2 // 3), rng)
    if rng.random() < 0.4:  # tally marks: struck through
        _stroke(img, [[15, SIDE / 2 + 20], [125, SIDE / 2 - 20]], max(3, w * 2 // 3), rng)


FAMILIES: dict[str, Callable[[np.ndarray, np.random.Generator, int], None]] = {
    "dash": _dash, "cross": _cross, "plus": _plus, "parallels": _parallels, "zigzag": _zigzag, "wave": _wave,
    "spiral": _spiral, "scribble": _scribble, "polygon": _polygon, "star": _star, "face": _face,
    "marked_ring": _marked_ring, "arrow": _arrow, "heart": _heart, "house": _house,
    "stick_figure": _stick_figure, "letter": _letter, "word": _word, "symbol": _symbol, "dots": _dots,
    "bumpy_outline": _bumpy_outline, "flower": _flower, "infinity": _infinity, "fish": _fish, "hatching": _hatching,
}


def draw(family: str, rng: np.random.Generator) -> np.ndarray:
    """One drawing of ``family`` (a key of ``FAMILIES``): (SIDE, SIDE) uint8, ink 255 on 0."""
    img = _canvas()
    width = int(rng.integers(3, 15))
    FAMILIES[family](img, rng, width)
    return img


def drawings(n: int, rng: np.random.Generator, families: tuple[str, ...] | None = None
             ) -> tuple[list[str], list[np.ndarray]]:
    """``n`` drawings, families taken in turn (``families`` default: all): ``(family names, images)``.

    Each image is (SIDE, SIDE) uint8, ink 255 on 0, not yet preprocessed.
    """
    names = tuple(FAMILIES) if families is None else families
    unknown = set(names) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; known: {sorted(FAMILIES)}")
    chosen = [names[i % len(names)] for i in range(n)]
    return chosen, [draw(name, rng) for name in chosen]
