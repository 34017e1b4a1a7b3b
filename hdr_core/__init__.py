"""hdr_core: the UI-free library behind the hdr app.

Modules (one concern each): ``data`` (datasets as uint8 arrays), ``preprocess`` (any image to the
28x28 model input, every step kept), ``models`` (architectures and their recipes), ``augment`` (training-time
variation of digits), ``train`` (one training function), ``inference`` (loading models, fast
prediction), ``visualize`` (filters, feature maps, saliency as arrays), ``realdev`` (the real
handwriting set and its evaluation), ``zoo`` (every reference recipe trained and compared in one
table), ``bench`` (speed figures), ``cli`` (``python -m hdr_core``). Importing the package is cheap:
TensorFlow is imported only by the modules that need it, when they are first used.
"""

__version__ = "0.1.0"
