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


@pytest.mark.parametrize("kwargs, match", [(dict(rotation=-1), "rotation"), (dict(shift=0.6), "shift"),
                                           (dict(zoom=1.5), "zoom"), (dict(blur=2), "blur")])
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


def test_cross_seven_adds_a_bar_across_the_stem_only():
    from hdr_core.augment import cross_seven

    seven, _ = _seven_and_one()
    crossed = cross_seven(seven, np.random.default_rng(0))
    added = (crossed > 128) & (seven <= 128)
    rows = np.flatnonzero(added.any(axis=1))
    assert added.sum() >= 4  # a visible bar
    assert rows.min() >= 11 and rows.max() <= 18  # across the middle of the stem, not the top bar
    assert np.all(crossed >= seven)  # nothing erased


def test_flag_one_adds_an_up_stroke_down_to_the_left_of_the_top():
    from hdr_core.augment import flag_one

    _, one = _seven_and_one()
    flagged = flag_one(one, np.random.default_rng(0))
    added = (flagged > 128) & (one <= 128)
    ys, xs = np.nonzero(added)
    assert len(xs) >= 4 and xs.max() <= 16 and xs.min() < 12  # to the left of the stem
    assert ys.min() >= 2 and ys.max() <= 14  # hanging from the top, not the foot


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
