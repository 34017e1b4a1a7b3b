"""What a blank picture is told. Whether a picture holds anything is ``evidence.look``'s ``structure``: the
two sides of Otsu's split stand apart from the noise, not an absolute contrast, so faint ink is ink."""

from __future__ import annotations

BLANK_MESSAGE = (
    "No ink found: the image is blank or a single colour. Draw or photograph a digit with dark ink on "
    "light paper (or light on dark), filling a good part of the picture."
)
