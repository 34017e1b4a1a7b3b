"""Every tuning value of the preprocessing, one frozen dataclass per stage, gathered in ``Params``.

Each stage receives the ``Params`` it runs with (``preprocess(image, params=...)``); nothing reads a
module global, so a benchmark sweeps a value by passing a changed copy::

    from dataclasses import replace
    params = Params(normalize=replace(Params().normalize, straighten_share=0.25))
    preprocess(image, params=params)

Grey levels are 0..255; shares are fractions of the quantity the comment names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadParams:
    # Transparent pixels above this share mean "strokes drawn on transparency": the background then becomes
    # the colour that contrasts with the strokes; below it, transparency is just a margin.
    transparent_background_share: float = 0.5


@dataclass(frozen=True)
class GrayscaleParams:
    # Luma with less spread than this (p0.1..p99.9) loses the ink of colour-on-colour pictures (red on green,
    # light blue on orange); then the principal colour axis is used instead.
    low_luma_contrast: int = 60
    gray_chroma: int = 12  # pixels whose channels differ by less than this are grey already


@dataclass(frozen=True)
class BlankParams:
    min_digit_side_share: float = 0.03  # a "digit" shorter than 3% of the picture's long side is a speck
    # A picture holds something to read when the two sides of Otsu's split stand apart by this many times
    # the noise (pure noise splits into sides about 1.6 noise apart)...
    noise_multiple: float = 5
    min_levels: float = 3  # ...and at least this many grey levels (a faint pencil on clean paper is 10 or more)
    small_side: int = 24  # a picture under this many pixels long also measures the noise on its paper's spread


@dataclass(frozen=True)
class CleanParams:
    """When a picture is clean (``evidence.clean_reason``): then only the textbook's stages read it."""

    # The paper is even: its levels, this share of the short side (or a stroke's width) away from the ink's
    # core, past its anti-aliased rim...
    paper_inset: float = 0.02
    paper_spread_share: float = 0.2  # ...span (p5..p95) at most this share of the ink's contrast...
    paper_spread_noise: float = 4  # ...or this many times the noise...
    paper_spread_floor: float = 6  # ...or this many grey levels, whichever is largest;
    paper_taken_share: float = 0.005  # the threshold takes at most this share of the picture there for ink,
    taken_noise: float = 3  # counting the paper this many times the noise off its level (ringing is nearer).
    # The ink has one level: at most this share of the ink's side of Otsu's split lies beyond its median by over
    # half the contrast (strokes inside a shadow the split also took for ink lie there).
    ink_tail_share: float = 0.01
    # ...and the rest of that side lies on flat ground (a shadow's plateau), not on the slope from a stroke's core
    # down to the paper: over this share of it (``evidence._flat_middle_share``; soft strokes in real photos 2-10%,
    # digits enlarged from 8x8 13-25%, strokes in a hard shadow or under light falling off 70% or more). Flat is
    # a slope that would cross the contrast over more than ``ramp_length_share`` of the short side and is under
    # ``ramp_noise`` times the noise.
    ink_plateau_share: float = 0.5
    ramp_length_share: float = 0.25
    ramp_noise: float = 3.0
    ramp_work_side: int = 800  # measured on a copy at most this long (fast on a 12-megapixel photo)
    # Nothing lies beyond the paper, away from the ink, by as much as the ink lies from it: at most this share of
    # the picture (light strokes on a dark page, on a desk the split took for the paper, are 0.3% or more).
    paper_tail_share: float = 0.0005
    # Otsu's split and the chosen threshold take the same pixels for ink: their inks overlap by at least this
    # share of their union (two levels: 0.8 or more; strokes, a page and a desk: far less).
    split_agreement: float = 0.6
    # The picture's edge is mostly paper: ink covers at most this share of its outermost pixels (a tight crop's
    # strokes touch it in places; a tight, bold "1" with a flag covers up to about 0.38 of it).
    border_share: float = 0.4
    # The largest patch of ink is strokes: thinner than this share of its long side (a bold digit's strokes are
    # up to a third of it, a bold 0 filling a tight crop; a sheet or a desk taken for ink is thicker)...
    stroke_share: float = 0.35
    band_stroke_share: float = 0.125  # ...half that, if it runs along a whole side (a shadow's or a desk's edge)...
    max_holes: int = 2  # ...with at most this many loops (an 8's two; ink round many pieces of paper is paper).
    # When the first choice of ink covers most of the picture's edge, the other side is tried as the ink if it
    # covers at most this share of the picture (a bold digit filling a tight crop; not the paper itself).
    flip_ink_share: float = 0.7
    # On a clean picture a pixel is ink when it lies at least this share of the way from the paper's level to
    # the strong ink's: half way, where an anti-aliased edge crosses the stroke's true edge.
    ink_share: float = 0.5


@dataclass(frozen=True)
class InversionParams:
    # Skewness of the grey levels beyond this says which side the (minority) ink is on; below it (ink covering
    # nearly half of a tight crop) the border decides. Real photos and scans: |skew| 0.5-7.
    skew_decides: float = 0.4
    # Below it, the skewness is measured again with the lighting evened out (each pixel minus the median of a
    # window a third of the picture wide). That measure must be clearer to decide: tight crops measure 0.5-0.6
    # either way; shadowed pages 1.8 or more in 95 cases out of 100.
    even_skew_decides: float = 1.0
    flat_background_share: float = 0.6  # most pixels at exactly one level: a digital drawing, not a photo


@dataclass(frozen=True)
class ContrastParams:
    work_side: int = 160  # the paper level is estimated on a copy this long: fast, and smooth anyway
    # Structures narrower than this share of the picture's long side count as strokes (the long side: in a
    # tight crop of a "1" the stroke is as wide as the picture).
    kernel_fraction: float = 1 / 3
    # ...and, where the strokes can be measured, wider than this many stroke widths counts as background too,
    # so the narrow end of a sharp-edged shadow does not become a triangle of "ink".
    stroke_kernel_factor: float = 2
    # A patch no more than this many fine kernels across where only the fine scale sees background, ringed by
    # lower wide background, is a knot of strokes, not a shadow's narrow end.
    knot_sides: int = 2
    # A bigger patch is ink too when it stands out as much as this share of the strong ink does, clear of the
    # picture's edge: a bold marker stroke or a filled loop beside finer strokes; a shadow is paler than the
    # ink, and a desk comes in from the edge.
    blot_share: float = 0.6
    # Ink in a shadow is scaled back to full light, by at most this factor (a near-black "paper" is a desk).
    max_shadow_gain: float = 4
    # A pixel is ink when its local contrast is at least this share of the strong ink's: keeps pencil strokes,
    # drops shadows' edges, paper texture and faint erasures.
    ink_contrast_share: float = 0.3
    strong_ink_percentile: float = 90  # "strong ink": this percentile of the pixels that stand out at all
    top_pixels_percentile: float = 99.7  # ...or the picture's top 0.3%, whichever is higher
    min_ink_pixels: int = 12  # fewer pixels than this standing out is noise, not a digit
    min_ink_contrast: int = 12  # ink must be at least this many grey levels off the paper around it
    # Ruled and squared paper's print is also looked for among the pixels standing out by this share of what ink
    # needs: print about as pale as that level comes out of it dotted, in runs too broken to be found as lines.
    pale_share: float = 0.5


@dataclass(frozen=True)
class SheetParams:
    # The picture is cropped to a sheet lying on a desk when most of its edge (this share) is darker than the
    # paper (Otsu's split)...
    desk_edge_share: float = 0.6
    min_share: float = 0.03  # ...the largest bright region, holes filled, covers 3%...
    max_share: float = 0.85  # ...to 85% of the picture...
    max_edge_share: float = 0.25  # ...touches at most a quarter of the picture's edge (a sheet inside the frame)...
    solidity: float = 0.9  # ...fills 90% of its convex hull, strokes aside (a sheet is convex; a bright digit not)...
    max_holes: float = 0.6  # ...the dark marks on it cover less than 60% of it (a bright "0" is mostly hole)...
    max_aspect: float = 2.5  # ...no longer than 2.5 times its width however turned (a bold "1" filling its crop is)...
    ink_width: float = 0.15  # ...its marks are strokes thinner than 15% of its short side (not a "0"'s hole)...
    edge_step: float = 0.5  # ...and its edge is a step: either side differ by half of rim - desk
    # Light falling off across a desk: the tests are tried again on the picture divided by a plane fitted to
    # the log brightness of the outermost work pixels, refitted without this share lying furthest above it.
    light_border_trim: float = 0.3
    # A sheet is straight-sided: its outline is a polygon of at most this many corners (a quadrilateral, even
    # in perspective; a bright blob of a digit is rounded)...
    corners: int = 6
    slack: float = 0.01  # ...within this share of its perimeter
    dark_marks: float = 0.01  # a dark sheet (a slate) has bright marks (chalk) on at least this share of it


@dataclass(frozen=True)
class LineParams:
    # A grid or rule line (a whole component) spans at least this share of the picture one way...
    span: float = 0.9
    edge_slack: float = 0.03  # ...or runs from edge to edge (within 3%)...
    elongation: float = 12  # ...and is at least this many times longer than it is thick...
    straight_share: float = 0.7  # ...and straight: this share of it on runs across 3/4 of its box either way
    straight_run: float = 0.75  # (grid lines cross and meet, so both ways count), after thickening across by
    straight_tilt: float = 0.03  # 3% of the run (photographed lines tilt); or, one line at a slant, its ink
    max_spread: float = 0.1  # spreads across its direction less than a tenth as far as along it (std devs)
    keep_share: float = 0.25  # a line is kept (it may be a "1") unless other ink is at least this big vs it
    # Ruled lines crossing the digit: they span 3/4 of the picture (tilted ones leave early)...
    rule_span: float = 0.75
    run_fraction: float = 0.25  # ...made of straight runs a quarter of the picture long...
    tilt_tolerance: float = 0.01  # ...after thickening by 1% across (a photo's lines are slightly tilted)...
    line_gap: float = 0.005  # ...and bridging gaps of 0.5% of their length (a pale line left dotted)...
    work_side: int = 1000  # lines are looked for on a copy at most this long (full-size photos are slow)
    beyond_ink: float = 0.05  # ...reaching 5% of the picture beyond the other ink on both ends...
    thickness_share: float = 0.8  # ...and thinner than the strokes (printed lines are finer than pens)
    # Ruled paper at a tilt: the long straight lines (half the short side or longer, on a copy at most
    # ``tilt_work_side`` long) give the tilt when two agree within ``tilt_agree`` degrees, tilted by
    # ``min_tilt`` to ``max_tilt`` degrees; on the levelled picture ``tilted_lines`` lines must then be found.
    tilt_work_side: int = 400
    min_tilt: float = 2.0
    max_tilt: float = 30.0
    tilt_agree: float = 1.5
    tilted_lines: int = 3
    edge_sliver: float = 0.01  # ink within 1% of the short side (at least 3 px) of one side, and no more,
    edge_sliver_min: int = 3  # is a line half cut off by the edge, not the digit
    ruled_family: int = 3  # three or more long lines one way are printed paper's: a line no deeper than
    ruled_depth_slack: float = 1.3  # 1.3x their median depth is one of them, however fine the strokes,
    ruled_spacing: float = 5  # when they lie at least this many times their depth apart (a bold 3's arcs are closer)
    corner_run: float = 0.05  # a "line" whose ends both turn a corner this share of its length long...
    corner_inside: float = 0.03  # ...and stop this share of its length inside the picture is a box's side


@dataclass(frozen=True)
class DeskParams:
    blob_share: float = 0.1  # border-touching regions this big (share of the picture) may be desk/shadow...
    blob_thickness: float = 0.22  # ...when thicker than this share of their size (strokes are thinner)...
    blob_stroke_ratio: float = 4  # ...or this many times thicker than the digit's strokes
    # A region along this share of one side of the picture is desk or shadow beyond the page's edge when a
    # digit lies beside it: away from the border, or with strokes this many times thinner.
    band_side_share: float = 0.8
    band_stroke_ratio: float = 2
    # A strip of desk joined to a digit is cut off when most of its rows (this share) run no deeper than
    # this many times its median depth (the others are where the digit touches it).
    strip_even_share: float = 0.7
    strip_depth_slack: float = 1.3
    # In a whole number, a region touching the picture's edge along this share of its length is desk or the
    # sheet's edge...
    wedge_contact_share: float = 0.3
    wedge_stroke_ratio: float = 2  # ...when this many times thicker than the digits away from the edge...
    wedge_length_ratio: float = 2  # ...or this many times longer than they are...
    edge_flush_share: float = 0.9  # ...or flush with the edge along (nearly) its whole length and...
    edge_thin_ratio: float = 0.75  # ...thinner than the digits' strokes (the sheet's edge across a corner)...
    corner_solidity: float = 0.9  # ...or a solid (this share of its hull) right triangle in a corner,
    corner_fill: tuple[float, float] = (0.35, 0.65)  # filling about half of its box


@dataclass(frozen=True)
class LocateParams:
    closing_fraction: float = 0.008  # closing kernel (share of the short side) joining broken pencil strokes
    speck_share_of_largest: float = 0.02  # components smaller than this share of the largest are specks
    min_speck_area: int = 4  # and anything of fewer pixels than this is noise, whatever the picture's size
    significant_side: float = 0.1  # components this long (share of the short side) are more than specks
    significant_share: float = 0.3  # other ink this long (vs a blob's long side) can be the digit on its own
    main_min_share: float = 0.25  # an interior component must be this big (vs the largest) to beat border ones
    near_factor: float = 0.5  # pieces within this many digit sizes of the main component belong to it
    near_factor_at_border: float = 0.1  # border-touching pieces must nearly touch it (else: a neighbour's bit)
    piece_min_share: float = 0.03  # pieces smaller than this share of the main component are noise
    piece_min_share_at_border: float = 0.1  # border-touching pieces need more: small ones are neighbours' bits


@dataclass(frozen=True)
class MarkParams:
    enclosed_share: float = 0.9  # a component with this share of its pixels in another's holes is enclosed...
    enclosed_min_side: float = 0.1  # ...and is a digit when this long against the frame (a big answer box
    enclosed_min_strokes: float = 4  # holds a small digit) and this many times its stroke width (not a dot)
    # A frame that is not straight-sided may be a 0 or 9 with a stroke in its loop, or a 0 written twice over:
    # a circle holds a digit this long against it...
    circle_side: tuple[float, float] = (0.25, 0.6)
    circle_clearance: float = 0.07  # ...clear of it by this share of the hole (a 0's second stroke hugs it)
    frame_work_side: int = 400  # a frame's shape is measured on a copy at most this long
    # An underline is straight, this many times wider than tall, with nothing beside it...
    underline_elongation: float = 4
    underline_anchor: float = 0.1  # ...its row is the ink over it level with the lowest piece this big...
    underline_gap: float = 0.1  # ...it lies this share of the row's height below it (a detached foot is closer)...
    underline_close_digits: int = 2  # ...or, in a number, closer when it is under this many digits side by side...
    underline_width: float = 0.9  # ...is about as wide as the row or wider...
    underline_row_ink: float = 0.1  # ...and has at most ten times the row's ink (a speck is no row)


@dataclass(frozen=True)
class NormalizeParams:
    # MNIST strokes are about 2.2 px wide in the 28x28 image (2*area/perimeter of the ink above 0.5, median
    # over the test set; 10%-90%: 1.7-3.2 px). Thinner strokes are thickened to this width...
    stroke_width: float = 2.2
    # ...bolder ones thinned only to MNIST's bold strokes (its 90th percentile), and those between left alone:
    # a bold blurred digit thinned to 2.2 px, its filled loops become a stick (an 8 read as a 1).
    bold_stroke_width: float = 3.2
    stroke_tolerance: float = 0.15  # widths within 15% of stroke_width are left alone...
    bold_tolerance: float = 0.05  # ...and within 5% of bold_stroke_width (a bolder one is beyond most of MNIST's)
    max_thinning_share: float = 0.35  # thinning never removes more than 35% of a stroke's width
    # Slant is halved: the shear that would make the ink's principal axis vertical is applied at this share
    # (a full correction over-straightens digits pulled by a bar or flag; see benchmarks/straighten.py).
    straighten_share: float = 0.5
    max_shear: float = 1.0  # |shear| at most 1 (45 degrees): a freak moment estimate cannot smear the digit


@dataclass(frozen=True)
class SegmentParams:
    digit_speck_share: float = 0.08  # components smaller than this share of the median digit are specks
    # Every digit of a number is written with the same pen: a piece standing out from the paper by less than
    # this share of the typical piece's contrast is texture or desk (a digit in a hard shadow keeps half).
    faint_piece_share: float = 0.35
    join_overlap: float = 0.5  # pieces overlapping horizontally by half the narrower one belong together...
    join_gap: float = 0.5  # ...when the vertical gap between them is under half a digit height
    row_gap: float = 0.7  # a jump in vertical centre of more than 0.7 digit heights starts a new row
    max_row_slope: float = 0.5  # rows tilted up to about 27 degrees (a phone held askew) are followed...
    row_link_reach: float = 3.0  # ...from each digit to its neighbour at most this many digit heights away
    min_digit_height_share: float = 0.4  # pieces shorter than 40% of the median digit are dots or marks
    touching_aspect: float = 1.15  # a component wider than 1.15 row heights holds several touching digits
    digit_aspect: float = 0.62  # typical width/height of one handwritten digit, to count touching digits
    # Two touching digits meet at a joint: a piece under ``wide_aspect`` row heights wide is only cut where
    # the column cut holds at most ``joint_share`` of the piece's median column's ink (a slanted 8 or a 2
    # with a long foot is wide, but any column through it crosses its strokes in full).
    joint_share: float = 0.8
    wide_aspect: float = 1.6
    # With a reader (``segment(..., reader=)``: the network and the digit check), a piece wider than
    # ``reread_aspect`` row heights is read again: one under ``wide_aspect`` that the width rule cut stays whole
    # when whole it reads at least as surely as a digit as its parts do; and where a part may not be a digit at
    # all, the piece is cut at joints every way it could hold 1, 2, 3... digits and the way whose parts read most
    # surely as digits (the product of each part's probabilities) is taken when it is ``reread_margin`` times surer.
    reread_aspect: float = 0.6
    reread_margin: float = 4.0
    # With a reader, a piece read as one digit (not a 1) is cut in two where each part is one piece of ink at
    # least ``apart_height_share`` of the piece's height tall and reads as a digit at least ``apart_sure`` surely
    # (which digit, and a digit at all), one of them as the whole was read, the two surer than the whole, and the
    # cut crosses at most one stroke, less than ``apart_touch_share`` of the piece's height long: two digits written
    # touching, the network reading only one of them ("51" read as a 5). The cut winds from top to bottom through
    # as little ink as it can (digits written close overlap: a 2's foot under the 1 beside it), at most
    # ``apart_reach_share`` of the piece's height either side of where it crosses the piece's middle row.
    apart_sure: float = 0.99
    apart_height_share: float = 0.8
    apart_touch_share: float = 0.5
    apart_reach_share: float = 0.25
    # With a reader, a dash (a piece too short for a digit) at least ``bar_aspect`` times as long as it is tall,
    # overlapping a digit's columns and within ``join_gap`` of it, is that digit's bar (a 5's top written apart
    # and reaching past its body) when the digit reads more surely with it than without.
    bar_aspect: float = 2.0
    # Reading one digit "leaves digits out" when ``segment`` finds two or more digits at least this share of
    # the tallest one's height, clear of the edge, one of them mostly (this share of its box) outside.
    left_out_height_share: float = 0.6
    left_out_outside_share: float = 0.5


@dataclass(frozen=True)
class Params:
    """All tuning values of the preprocessing, by stage. ``Params()`` holds the defaults."""

    load: LoadParams = field(default_factory=LoadParams)
    grayscale: GrayscaleParams = field(default_factory=GrayscaleParams)
    blank: BlankParams = field(default_factory=BlankParams)
    clean: CleanParams = field(default_factory=CleanParams)
    inversion: InversionParams = field(default_factory=InversionParams)
    contrast: ContrastParams = field(default_factory=ContrastParams)
    sheet: SheetParams = field(default_factory=SheetParams)
    lines: LineParams = field(default_factory=LineParams)
    desk: DeskParams = field(default_factory=DeskParams)
    locate: LocateParams = field(default_factory=LocateParams)
    marks: MarkParams = field(default_factory=MarkParams)
    normalize: NormalizeParams = field(default_factory=NormalizeParams)
    segment: SegmentParams = field(default_factory=SegmentParams)


DEFAULT_PARAMS = Params()
