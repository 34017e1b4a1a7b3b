"""Constants that describe the data and the model input, in one place."""

from __future__ import annotations

IMAGE_SIZE = 28  # MNIST images are 28x28 pixels
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)  # one model input, channels last
DIGIT_BOX = 20  # MNIST fits each digit's ink into a 20x20 box before centring it in 28x28
DIGIT_CLASS_NAMES = tuple(str(d) for d in range(10))

DATA_DIR_ENV = "HDR_DATA_DIR"  # folder searched first for datasets
MODELS_DIR_ENV = "HDR_MODELS_DIR"  # overrides the folder of shipped models (tests, deployments)
DEFAULT_MODEL_NAME = "hdr-accurate"  # stem of the default shipped model in models/
MODEL_SUFFIX = ".keras"  # the only model file format the app reads (Keras 3)

# Images larger than this are refused before decoding (decompression bombs, 30000x30000 scans).
MAX_IMAGE_PIXELS = 40_000_000
