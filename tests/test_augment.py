"""Augmentation: reproducible, bounded, and each transform does what it says."""

import cv2
import numpy as np
import pytest

from hdr_core.augment import Augmentation, augment_batch


def _digits(n=16):
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        cv2.putText(images[i], str(i % 10), (7, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)
    return images


def test_no_augmentation_returns_the_same_digits():
    images = _digits()
    out = augment_batch(images, Augmentation(), np.random.default_rng(0))
    assert np.array_equal(out, images)
    assert not Augmentation().active


def test_same_seed_same_batch_and_input_untouched():
    images = _digits()
    before = images.copy()
    aug = Augmentation(rotation=15, shift=0.1, zoom=0.1, thickness=0.5, blur=0.5)
    a = augment_batch(images, aug, np.random.default_rng(7))
    b = augment_batch(images, aug, np.random.default_rng(7))
    c = augment_batch(images, aug, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(images, before)
    assert a.dtype == np.uint8 and a.shape == images.shape


def test_shift_moves_the_centre_of_mass_by_at_most_the_limit():
    images = _digits(64)
    out = augment_batch(images, Augmentation(shift=0.1), np.random.default_rng(1))
    ys, xs = np.mgrid[:28, :28]
    for before, after in zip(images, out):
        if after.sum() < 0.9 * before.sum():  # part of the digit moved out of the frame
            continue
        cb = np.array([(before * xs).sum(), (before * ys).sum()]) / before.sum()
        ca = np.array([(after * xs).sum(), (after * ys).sum()]) / after.sum()
        assert np.all(np.abs(ca - cb) <= 2.8 + 0.5)


def test_thickness_changes_the_amount_of_ink_both_ways():
    images = _digits(64)
    out = augment_batch(images, Augmentation(thickness=1.0), np.random.default_rng(2))
    ratio = out.reshape(64, -1).sum(1) / images.reshape(64, -1).sum(1)
    assert (ratio > 1.2).any() and (ratio < 0.9).any()
    assert (ratio >= 0.45).all()  # thinning never erases a digit


def test_slant_leans_an_upright_stroke_both_ways_and_keeps_it_centred():
    stroke = np.zeros((1, 28, 28), np.uint8)
    cv2.line(stroke[0], (14, 4), (14, 23), 255, 2)
    leans = []
    for seed in range(20):
        out = augment_batch(stroke, Augmentation(slant=0.4), np.random.default_rng(seed))[0]
        ys, xs = np.nonzero(out > 128)
        top, bottom = xs[ys < 9].mean(), xs[ys > 18].mean()
        leans.append((bottom - top) / 14)  # horizontal run per row, about the shear
        assert abs(xs.mean() - 14.0) < 1.0  # sheared about the centre, not moved
    assert min(leans) < -0.15 and max(leans) > 0.15 and max(map(abs, leans)) <= 0.45
    assert Augmentation(slant=0.4).active


@pytest.mark.parametrize("kwargs, match", [(dict(rotation=-1), "rotation"), (dict(shift=0.6), "shift"),
                                           (dict(zoom=1.5), "zoom"), (dict(blur=2), "blur"),
                                           (dict(slant=-0.1), "slant")])
def test_bad_strengths_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Augmentation(**kwargs)


def test_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        augment_batch(np.zeros((2, 32, 32), np.uint8), Augmentation(), np.random.default_rng(0))


def _seven_and_one():
    seven = np.zeros((28, 28), np.uint8)
    cv2.line(seven, (8, 6), (20, 6), 255, 2)
    cv2.line(seven, (20, 6), (12, 23), 255, 2)
    one = np.zeros((28, 28), np.uint8)
    cv2.line(one, (14, 5), (14, 23), 255, 2)
    return seven, one


def test_cross_seven_bars_the_stem_and_sometimes_narrows_it_and_dips_the_top_bar():
    from hdr_core.augment import cross_seven

    seven, _ = _seven_and_one()  # top bar on row 6 from x=8 to 20; stem from (20, 6) to (12, 23)
    narrowed = dipped = 0
    for seed in range(40):
        crossed = cross_seven(seven, np.random.default_rng(seed))
        ink = crossed > 128
        rows, cols = np.nonzero(ink)
        assert rows.min() >= 4 and rows.max() <= 25  # the same height: only the width may change
        # A bar across the stem: a row in the middle of the digit with a long run of ink.
        spans = [np.ptp(np.flatnonzero(ink[y])) if ink[y].any() else 0 for y in range(12, 20)]
        assert max(spans) >= 6, seed
        # Narrowed: the stem spans less width from its top corner to its foot than the 8 px it had.
        corner = np.flatnonzero(ink[5:8].any(axis=0)).max()
        foot = np.flatnonzero(ink[21:24].any(axis=0)).mean()
        narrowed += corner - foot < 7
        # A dipped top bar: ink a few rows under the top bar, well left of the stem.
        left_of_stem = [ink[y, :max(int(20 - (y - 6) * 8 / 17) - 4, 0)].any() for y in range(9, 13)]
        dipped += any(left_of_stem)
    assert 5 < narrowed < 35 and 5 < dipped < 35  # variants for some writers, not all


def test_flag_one_adds_an_up_stroke_down_to_the_left_and_sometimes_a_foot():
    from hdr_core.augment import flag_one

    _, one = _seven_and_one()  # stem at x=14 from row 5 to 23
    feet = 0
    for seed in range(30):
        flagged = flag_one(one, np.random.default_rng(seed))
        assert np.all(flagged >= one)
        added = (flagged > 128) & (one <= 128)
        ys, xs = np.nonzero(added[:18])
        assert len(xs) >= 4 and xs.max() <= 16 and xs.min() <= 11  # to the left of the stem
        assert ys.min() >= 3 and ys.max() <= 17  # hanging from the top
        foot = added[18:]
        if foot.any():
            ys, xs = np.nonzero(foot)
            assert ys.min() + 18 >= 21  # a foot sits at the bottom of the stem
            assert xs.min() < 13 and xs.max() > 15  # level, on both sides of the stem
            feet += 1
    assert 0 < feet < 30


def test_style_variants_need_labels_and_touch_only_ones_and_sevens():
    seven, one = _seven_and_one()
    zero = np.zeros((28, 28), np.uint8)
    cv2.circle(zero, (14, 14), 8, 255, 2)
    images = np.stack([seven, one, zero])
    style = Augmentation(style=1.0)
    unlabelled = augment_batch(images, style, np.random.default_rng(0))
    assert np.array_equal(unlabelled, images)
    labelled = augment_batch(images, style, np.random.default_rng(0), labels=np.array([7, 1, 0]))
    assert not np.array_equal(labelled[0], seven) and not np.array_equal(labelled[1], one)
    assert np.array_equal(labelled[2], zero)
