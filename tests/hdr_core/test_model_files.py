"""Hostile model files, written at test time, are refused before Keras reads them, each with its reason."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from hdr_core.errors import ModelError
from hdr_core.inference import load_model
from hdr_core.model_files import FileLimits, inspect_model_file

ZEROS = bytes(1 << 20)  # 1 MiB


@pytest.fixture(scope="module")
def real_model(tmp_path_factory) -> Path:
    """A small, ordinary model saved by Keras: the template the hostile files are cut from."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    path = tmp_path_factory.mktemp("models") / "small.keras"
    model.save(path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes], *, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**members, **(extra or {})}.items():
            archive.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_by_its_declared_size(real_model, tmp_path):
    """A few hundred kilobytes whose weights member inflates to 300 MB of zeros: refused without inflating it."""
    path = tmp_path / "bomb.keras"
    members = _members(real_model)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", members["config.json"])
        archive.writestr("metadata.json", members["metadata.json"])
        with archive.open("model.weights.h5", "w", force_zip64=True) as weights:
            for _ in range(300):
                weights.write(ZEROS)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ModelError, match=r"model\.weights\.h5.*inflates to 315 MB.*zip bomb"):
        load_model(path)


def test_many_small_members_that_add_up_are_refused(real_model, tmp_path):
    members = _members(real_model)
    path = _write(tmp_path / "sum.keras", members, extra={f"pad{i}.bin": bytes(40_000_000) for i in range(3)})
    with pytest.raises(ModelError, match="inflates to .* MB in all"):
        inspect_model_file(path)


@pytest.mark.parametrize("name", ["../../etc/cron.d/evil", "/etc/passwd", "assets/../../escape.txt",
                                  "C:/Windows/evil.dll", "..\\..\\evil.bat"])
def test_a_member_named_outside_the_archive_is_refused(real_model, tmp_path, name):
    path = _write(tmp_path / "traversal.keras", _members(real_model), extra={name: b"x"})
    with pytest.raises(ModelError, match="points outside the archive"):
        load_model(path)


def _with_layer(real_model: Path, tmp_path: Path, layer: dict) -> Path:
    members = _members(real_model)
    config = json.loads(members["config.json"])
    config["config"]["layers"].insert(1, layer)
    return _write(tmp_path / "edited.keras", {**members, "config.json": json.dumps(config).encode()})


def test_an_unknown_layer_class_is_refused_by_name(real_model, tmp_path):
    path = _with_layer(real_model, tmp_path, {"module": "evil.layers", "class_name": "StealCookies",
                                              "config": {"name": "steal"}, "registered_name": "evil>StealCookies"})
    with pytest.raises(ModelError, match="does not support: StealCookies from evil.layers"):
        load_model(path)


def test_a_lambda_layer_is_refused_as_code(real_model, tmp_path):
    path = _with_layer(real_model, tmp_path, {"module": "keras.layers", "class_name": "Lambda",
                                              "config": {"name": "code", "function": "gASVAAAA"}})
    with pytest.raises(ModelError, match=r"Python code \(a Lambda layer\)"):
        load_model(path)


def test_weights_declaring_more_numbers_than_a_model_here_has_are_refused(real_model):
    with pytest.raises(ModelError, match="declares .* weights"):
        inspect_model_file(real_model, limits=FileLimits(max_weights=100))


@pytest.mark.parametrize("content, match", [
    (b"\x89HDF\r\n\x1a\n" + bytes(64), "legacy HDF5"),
    (b"just some text, renamed\n", "not a Keras model"),
    (b"", r"empty \(0 bytes\)"),
])
def test_files_that_are_not_keras_archives_are_refused(tmp_path, content, match):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=match):
        load_model(path)


def test_a_truncated_archive_is_refused(real_model, tmp_path):
    data = real_model.read_bytes()
    path = tmp_path / "cut.keras"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged|truncated"):
        load_model(path)


def test_an_ordinary_model_passes_and_loads(real_model):
    inspect_model_file(real_model)
    assert load_model(real_model).output.shape[-1] == 10


def test_the_shipped_models_pass(tmp_path):
    from hdr_core.inference import shipped_models

    for info in shipped_models():
        inspect_model_file(info.path)


def test_every_preset_and_the_custom_builder_pass_once_saved(tmp_path):
    """Whatever the Train page can make, the app loads again: its layer classes are all supported."""
    from hdr_core.models import PRESETS, ArchSpec, build_model

    for arch in [*PRESETS, ArchSpec(conv_blocks=3, filters=8, batch_norm=True)]:
        path = tmp_path / "preset.keras"
        build_model(arch).save(path)
        inspect_model_file(path)


@pytest.mark.parametrize("command", [["predict"], ["evaluate", "--dataset", "mnist"]])
def test_the_cli_refuses_a_hostile_file_with_its_reason(real_model, tmp_path, capsys, command):
    from hdr_core.cli import main

    path = _write(tmp_path / "traversal.keras", _members(real_model), extra={"../escape.txt": b"x"})
    image = tmp_path / "digit.png"
    image.write_bytes(b"not read: the model is refused first")
    argv = [command[0], "--model", str(path), *command[1:], *([str(image)] if command == ["predict"] else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "points outside the archive" in err and "Traceback" not in err
