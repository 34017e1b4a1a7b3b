"""hdr_core: the UI-free library behind the hdr app.

Modules (one concern each): ``data`` (datasets as uint8 arrays), ``preprocess`` (any image to the
28x28 model input, every step kept), ``models`` (architectures and their recipes), ``augment`` (training-time
variation of digits), ``train`` and ``calibration`` (one training function; probabilities that mean what they
say), ``catalog`` (the shipped models and their cards), ``model_files`` (a model file inspected before Keras
reads it), ``inference`` (loading models, fast prediction), ``lite`` (LiteRT answers without TensorFlow),
``digit_check`` (is it a digit at all? trained by ``digit_check_training`` on ``non_digits``), ``cluster``
(trainings on Dask workers), ``visualize`` (what a model sees, as arrays, and the stages a student is shown),
``realdev`` (the real handwriting set and its evaluation), ``zoo`` (every reference recipe trained and compared
in one table), ``bench`` (speed figures), ``cli`` (``python -m hdr_core``). Importing the package is cheap:
TensorFlow is imported only by the modules that need it, when they are first used.
"""

__version__ = "0.1.0"
