"""Tests for the command line (hdr_core.cli, hdr_core.bench): run ``main([...])`` in-process, plus two
real ``python -m hdr_core`` runs that check stdout is clean JSON.

Fixtures are generated: digits drawn with OpenCV's Hershey fonts, broken files written byte by byte,
tiny Keras models with the wrong shapes. Nothing trains on more than a few hundred images.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from hdr_core import bench, cli  # noqa: E402
from hdr_core.cli import common, evaluate, info, train  # noqa: E402
from hdr_core.cli import config_from_command, main  # noqa: E402
from hdr_core.models import ArchSpec  # noqa: E402
from hdr_core.train import TrainConfig  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


def _draw(text: str, path: Path, *, width: int = 160, height: int = 200, scale: float = 5.0) -> Path:
    """Dark digits drawn with a Hershey font on white paper, saved as PNG."""
    image = np.full((height, width, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w, h), _ = cv2.getTextSize(text, font, scale, 12)
    cv2.putText(image, text, ((width - w) // 2, (height + h) // 2), font, scale, (20, 20, 20), 12, cv2.LINE_AA)
    cv2.imwrite(str(path), image)
    return path


def _png_bytes(size: int = 40) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), 255, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _huge_png(path: Path, side: int = 30000) -> Path:
    """A valid small PNG whose IHDR claims side x side pixels (CRC fixed), so only the header is huge."""
    png = _png_bytes()
    ihdr = bytearray(png[16:29])  # the 13 data bytes of IHDR, after signature (8) + length (4) + type (4)
    ihdr[0:8] = struct.pack(">II", side, side)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    path.write_bytes(png[:16] + bytes(ihdr) + crc + png[33:])
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    png = _png_bytes()
    files = {
        "seven": _draw("7", folder / "seven.png"),
        "three": _draw("3", folder / "three.png"),
        "number": _draw("2026", folder / "number.png", width=520, height=200, scale=4.0),
        "zero_bytes": folder / "zero.png",
        "text": folder / "text.png",
        "truncated": folder / "truncated.png",
        "pdf": folder / "pdf.png",
        "huge": _huge_png(folder / "huge.png"),
        "blank": folder / "blank.png",
        "folder": folder / "a-folder",
        "missing": folder / "missing.png",
    }
    files["zero_bytes"].write_bytes(b"")
    files["text"].write_text("these are my digits\n")
    files["truncated"].write_bytes(png[: len(png) // 2])
    files["pdf"].write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    cv2.imwrite(str(files["blank"]), np.full((60, 60, 3), 255, np.uint8))
    files["folder"].mkdir()
    return files


@pytest.fixture(scope="module")
def odd_models(tmp_path_factory) -> dict[str, Path]:
    """Keras models that hdr must refuse: wrong input shape; 26 outputs (letters); not a model at all."""
    keras = pytest.importorskip("keras")
    from keras import layers

    folder = tmp_path_factory.mktemp("models")

    def save(name: str, input_shape, n_out: int) -> Path:
        inputs = keras.Input(input_shape)
        outputs = layers.Dense(n_out, activation="softmax")(layers.Flatten()(inputs))
        path = folder / f"{name}.keras"
        keras.Model(inputs, outputs).save(path)
        return path

    text = folder / "notes.keras"
    text.write_text("not a model")
    return {"wrong_shape": save("rgb32", (32, 32, 3), 10), "letters": save("letters", (28, 28, 1), 26),
            "text": text}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------------
# Parsing: the train options are TrainConfig, exactly
# --------------------------------------------------------------------------------------------------


def test_every_trainconfig_field_is_an_option():
    parser = cli.build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]  # noqa: SLF001 - argparse has no public way
    options = {s for action in train._actions for s in action.option_strings}  # noqa: SLF001
    for field in cli.config_fields():
        assert "--" + field.name.replace("_", "-") in options


ROUND_TRIP_CONFIGS = [
    TrainConfig.from_preset("fast"),
    TrainConfig(arch="fast"),  # plain defaults with a preset's architecture: --preset + the differences
    TrainConfig.from_preset("accurate", epochs=3, train_limit=500, seed=4),
    TrainConfig.from_preset("blog-cnn-rot", rotation=5.0, shift=0.1, zoom=0.1, thickness=0.3, blur=0.2,
                            label_smoothing=0.05, l2=1e-5, batch_size=32, learning_rate=2.5e-4),
    TrainConfig(arch=ArchSpec(conv_blocks=3, filters=16, dense_units=0, dropout=0.1, l2=0.0005, batch_norm=True),
                dataset="emnist-letters", optimizer="sgd", lr_schedule="exponential", learning_rate=0.05,
                seed=7, validation_fraction=0.0, early_stopping_patience=2),
    TrainConfig(arch=ArchSpec(), dataset="emnist-digits"),
    TrainConfig.from_preset("tk-mlp", optimizer="adam", epochs=1, train_limit=10),
]


@pytest.mark.parametrize("config", ROUND_TRIP_CONFIGS, ids=lambda c: c.to_command()[24:70])
def test_to_command_round_trips(config):
    assert config_from_command(config.to_command()) == (config, None)
    assert config_from_command(config.to_command(out="runs/x y")) == (config, "runs/x y")


def test_config_from_command_forms():
    expected = TrainConfig.from_preset("fast", epochs=1)
    assert config_from_command(["--preset", "fast", "--epochs", "1"])[0] == expected
    assert config_from_command("python3 -m hdr_core train --preset fast --epochs 1")[0] == expected
    assert config_from_command("train --track-test-accuracy --preset fast --epochs 1")[0] == TrainConfig.from_preset(
        "fast", epochs=1, track_test_accuracy=True)
    assert config_from_command("--arch custom --spec '{\"filters\": 8}'")[0].arch == ArchSpec(filters=8)
    with pytest.raises(ValueError, match="not a `python -m hdr_core train` command"):
        config_from_command("python -m hdr_core predict x.png")
    with pytest.raises(ValueError, match="learning_rate"):
        config_from_command("--preset fast --learning-rate 5")
    with pytest.raises(ValueError, match="unrecognized arguments"):
        config_from_command("--preset fast --lr 0.1")  # no abbreviations: stored commands must stay valid


def test_threshold_methods_match_preprocess():
    from hdr_core import preprocess

    assert cli.THRESHOLD_METHODS == tuple(preprocess.THRESHOLD_METHODS)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--preset", "fast", "--arch", "fast"], "not allowed with"),
        (["train", "--epochs", "2"], "one of the arguments --preset --arch is required"),
        (["train", "--preset", "nope"], "invalid choice"),
        (["train", "--preset", "fast", "--epochs", "two"], "expected a whole number"),
        (["train", "--preset", "fast", "--learning-rate", "nan"], "finite"),
        (["predict"], "the following arguments are required"),
        (["evaluate", "--dataset", "mnist", "--limit", "0"], "must be at least 1"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert message in err and "usage:" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--preset", "fast", "--spec", "{}"], "--spec describes a custom architecture"),
        (["--arch", "custom", "--spec", "{conv_blocks: 2}"], "--spec must be a JSON object"),
        (["--arch", "custom", "--spec", '{"convblocks": 2}'], "unknown field(s) convblocks"),
        (["--arch", "custom", "--spec", '{"conv_blocks": 9}'], "conv_blocks must be between 0 and 3"),
        (["--preset", "fast", "--learning-rate", "5"], "learning_rate must be in (0, 1)"),
        (["--preset", "fast", "--dataset", "kmnist"], "unknown dataset 'kmnist'"),
    ],
)
def test_train_bad_options_are_reported(capsys, argv, message):
    status, out, err = _run(capsys, "train", "--json", *argv)
    assert status == 2
    assert message in json.loads(out)["error"]


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "predict" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert "hdr_core" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------------------------------


def test_predict_reports_each_bad_file_and_still_predicts_the_good_ones(capsys, images):
    order = ["seven", "zero_bytes", "text", "truncated", "pdf", "huge", "blank", "folder", "missing", "three"]
    status, out, err = _run(capsys, "predict", "--json", *(str(images[k]) for k in order))
    assert status == 2
    records = _records(out)
    assert [r["path"] for r in records] == [str(images[k]) for k in order]
    by_name = dict(zip(order, records))
    for name in ("seven", "three"):
        record = by_name[name]
        assert set(record) >= {"path", "digit", "confidence", "probabilities"}
        assert "error" not in record and "label" not in record
        assert record["digit"] in range(10)
        assert len(record["probabilities"]) == 10
        assert record["confidence"] == max(record["probabilities"])
        assert sum(record["probabilities"]) == pytest.approx(1.0, abs=1e-3)
    expected_words = {"zero_bytes": "empty", "text": "text file", "truncated": "truncated", "pdf": "PDF",
                      "huge": "too large", "blank": "No ink", "folder": "is a folder", "missing": "not found"}
    for name, words in expected_words.items():
        assert set(by_name[name]) == {"path", "error"}
        assert words in by_name[name]["error"], (name, by_name[name]["error"])


def test_predict_readable_output(capsys, images):
    status, out, err = _run(capsys, "predict", str(images["seven"]), str(images["pdf"]))
    assert status == 2
    assert out.startswith(f"{images['seven']}: ") and "%" in out
    assert f"{images['pdf']}: error: " in err and "PDF" in err


def test_predict_says_a_cross_may_not_be_a_digit(capsys, tmp_path, images):
    cross = np.full((200, 200), 250, np.uint8)
    cv2.line(cross, (40, 40), (160, 160), 20, 12)
    cv2.line(cross, (40, 160), (160, 40), 20, 12)
    cv2.imwrite(str(tmp_path / "cross.png"), cross)
    status, out, _ = _run(capsys, "predict", "--json", str(tmp_path / "cross.png"), str(images["seven"]))
    assert status == 0
    cross_record, seven_record = _records(out)
    assert cross_record["may_not_be_a_digit"] is True and cross_record["digit_probability"] < 0.5
    assert seven_record["may_not_be_a_digit"] is False
    status, out, _ = _run(capsys, "predict", str(tmp_path / "cross.png"))
    assert "may not be a digit" in out


def test_predict_all_good_exits_0(capsys, images):
    status, out, _ = _run(capsys, "predict", "--json", "--threshold", "otsu", str(images["three"]))
    assert status == 0
    [record] = _records(out)
    # The stages that ran, in order, each with the reason it ran: the same trace the Upload page shows.
    stages = [step["stage"] for step in record["steps"]]
    assert stages[:4] == ["load", "grayscale", "threshold", "invert"] and stages[-2:] == ["locate", "normalize"]
    assert "Otsu" in record["steps"][2]["reason"]


def test_predict_multi_reads_a_whole_number(capsys, images):
    status, out, _ = _run(capsys, "predict", "--json", "--multi", str(images["number"]), str(images["blank"]))
    assert status == 2
    number, blank = _records(out)
    assert set(number) == {"path", "number", "digits", "steps", "reading"}
    stages = [step["stage"] for step in number["steps"]]
    assert stages[:4] == ["load", "grayscale", "threshold", "invert"] and stages[-2:] == ["digits", "normalize"]
    assert all(step["reason"] for step in number["steps"])
    assert len(number["digits"]) == 4 and len(number["number"]) == 4 and number["number"].isdigit()
    assert number["number"] == "".join(str(d["digit"]) for d in number["digits"])
    xs = [d["box"][0] for d in number["digits"]]
    assert xs == sorted(xs)  # left to right
    for digit in number["digits"]:
        assert set(digit) == {"digit", "confidence", "may_not_be_a_digit", "digit_probability", "box"}
        assert len(digit["box"]) == 4 and digit["may_not_be_a_digit"] is False
        assert 0 <= digit["confidence"] <= 1
    assert "error" in blank


def test_predict_reads_digits_in_an_answer_box_or_underlined(capsys, tmp_path):
    """The default model reads the digit in a worksheet's answer box and an underlined number, as
    it reads them bare (the box was read as a 0, the underline as one more digit)."""
    boxed = cv2.imread(str(_draw("3", tmp_path / "three.png", width=300, height=300)))
    cv2.rectangle(boxed, (60, 50), (240, 250), (20, 20, 20), 5)
    cv2.imwrite(str(tmp_path / "boxed.png"), boxed)
    number = cv2.imread(str(_draw("2026", tmp_path / "number.png", width=520, height=240, scale=4.0)))
    cv2.line(number, (50, 200), (470, 196), (20, 20, 20), 5)
    cv2.imwrite(str(tmp_path / "underlined.png"), number)
    status, out, _ = _run(capsys, "predict", "--json", str(tmp_path / "boxed.png"))
    assert status == 0 and _records(out)[0]["digit"] == 3
    status, out, _ = _run(capsys, "predict", "--json", "--multi", str(tmp_path / "underlined.png"))
    assert status == 0 and _records(out)[0]["number"] == "2026"


@pytest.mark.parametrize("kind, words", [("wrong_shape", "input of shape (32, 32, 3)"),
                                         ("text", "is not a Keras model")])
def test_predict_bad_model_is_a_clear_error(capsys, images, odd_models, kind, words):
    status, out, err = _run(capsys, "predict", "--json", "--model", str(odd_models[kind]), str(images["seven"]))
    assert status == 2
    (record,) = _records(out)  # one error, no predictions
    assert record["model"] == str(odd_models[kind]) and words in record["error"]
    status, out, err = _run(capsys, "predict", "--model", str(odd_models[kind]), str(images["seven"]))
    assert status == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------------


def test_evaluate_mnist(capsys, data_dir):
    status, out, _ = _run(capsys, "evaluate", "--json", "--dataset", "mnist", "--limit", "500")
    assert status == 0
    result = json.loads(out)
    assert set(result) >= {"model", "dataset", "split", "n", "accuracy", "loss", "per_class"}
    assert (result["dataset"], result["split"], result["n"]) == ("mnist", "test", 500)
    assert 0.0 <= result["accuracy"] <= 1.0 and result["loss"] > 0
    assert len(result["per_class"]) == 10


def test_evaluate_checks_the_class_count(capsys, data_dir, odd_models):
    status, out, _ = _run(capsys, "evaluate", "--json", "--dataset", "mnist", "--model", str(odd_models["letters"]))
    assert status == 2
    assert "has 26 outputs but mnist has 10 classes" in json.loads(out)["error"]


def test_evaluate_unknown_and_missing_datasets(capsys, tmp_path, monkeypatch):
    status, out, _ = _run(capsys, "evaluate", "--json", "--dataset", "kmnist")
    assert status == 2
    error = json.loads(out)["error"]
    assert "unknown dataset 'kmnist'" in error and "emnist-digits" in error and "real-dev" in error
    monkeypatch.setenv("HDR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    status, out, _ = _run(capsys, "evaluate", "--json", "--dataset", "emnist-byclass")
    assert status == 2 and "not found" in json.loads(out)["error"]
    status, out, err = _run(capsys, "evaluate", "--dataset", "real-dev")
    assert status == 2 and "real-dev/labels.csv" in err


def test_evaluate_real_dev(capsys, data_dir):
    status, out, _ = _run(capsys, "evaluate", "--json", "--dataset", "real-dev", "--limit", "25",
                          "--threshold", "otsu")
    assert status == 0
    result = json.loads(out)
    assert result["dataset"] == "real-dev" and result["threshold"] == "otsu"
    assert 0 < result["n"] <= 25 and set(result) >= {"accuracy", "by_kind", "numbers", "failures", "per_class"}
    assert len(result["failures"]) <= evaluate.MAX_FAILURES_SHOWN and result["n_failures"] >= len(result["failures"])
    assert sum(figures["n"] for figures in result["by_source"].values()) == result["n"]
    status, out, _ = _run(capsys, "evaluate", "--dataset", "real-dev", "--limit", "25")
    assert status == 0 and ("by source" in out) == (len(result["by_source"]) > 1)
    status, out, _ = _run(capsys, "evaluate", "--json", "--dataset", "real-dev", "--kind", "multi")
    numbers = json.loads(out)["numbers"]
    assert numbers and all(set(n) >= {"path", "label", "read", "exact"} for n in numbers)


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------


def test_train_tiny_run_saves_model_and_card(capsys, data_dir, tmp_path, images):
    argv = ["train", "--json", "--preset", "fast", "--epochs", "1", "--train-limit", "300",
            "--out", str(tmp_path / "m")]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    result = json.loads(out)  # progress went to stderr, not into the JSON
    assert set(result) >= {"test_accuracy", "test_loss", "train_seconds", "epochs", "best_epoch", "history",
                           "model_path", "params"}
    assert result["epochs"] == 1 and result["model_path"] == str(tmp_path / "m.keras")
    assert len(result["history"]["loss"]) == 1 and "epoch 1/1" in err
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["training_command"] == "python -m hdr_core train " + " ".join(argv[1:])
    expected = TrainConfig.from_preset("fast", epochs=1, train_limit=300)
    assert TrainConfig.from_json(card["config"]) == expected
    assert config_from_command(card["training_command"]) == (expected, str(tmp_path / "m"))
    # The new model is usable at once.
    status, out, _ = _run(capsys, "predict", "--json", "--model", result["model_path"], str(images["seven"]))
    assert status == 0 and "digit" in _records(out)[0]
    # Trained with a validation split, it was calibrated on it; `calibrate` fits the same temperature again.
    assert 0.05 <= card["calibration"]["temperature"] <= 20 and card["test_ece"] is not None
    status, out, _ = _run(capsys, "calibrate", "--json", "--model", result["model_path"])
    assert status == 0
    assert json.loads(out)["temperature"] == pytest.approx(card["calibration"]["temperature"], rel=1e-3)
    status, out, _ = _run(capsys, "evaluate", "--json", "--model", result["model_path"], "--dataset", "mnist",
                          "--limit", "200")
    evaluated = json.loads(out)
    assert evaluated["temperature"] == pytest.approx(card["calibration"]["temperature"], rel=1e-3)
    assert 0 <= evaluated["ece"] <= 1


@pytest.fixture
def sigint(request):
    """SIGINT's handler set to ``request.param`` for the test (as a terminal or ``nohup`` starts Python).

    Put back afterwards.
    """
    before = signal.signal(signal.SIGINT, request.param)
    yield request.param
    signal.signal(signal.SIGINT, before)


def _train_pressing_ctrl_c(capsys, tmp_path, monkeypatch):
    def press_ctrl_c(self, epoch, batch, logs):
        if batch == 0:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(train._TrainProgress, "on_batch_end", press_ctrl_c)
    return _run(capsys, "train", "--json", "--arch", "custom", "--spec", '{"conv_blocks": 1, "filters": 4}',
                "--epochs", "3", "--train-limit", "600", "--out", str(tmp_path))


@pytest.mark.parametrize("sigint", [signal.default_int_handler], indirect=True)
def test_train_ctrl_c_stops_and_keeps_the_model(capsys, data_dir, tmp_path, monkeypatch, sigint):
    status, out, err = _train_pressing_ctrl_c(capsys, tmp_path, monkeypatch)
    assert status == 0, err
    result = json.loads(out)
    assert result["interrupted"] and result["stopped"] and result["epochs"] == 1
    assert "stopping after this batch" in err
    saved = Path(result["model_path"])
    assert saved.parent == tmp_path and saved.name.startswith("custom-") and saved.with_suffix(".json").is_file()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


@pytest.mark.parametrize("sigint", [signal.SIG_IGN], indirect=True)
def test_train_under_nohup_ignores_sigint_as_asked(capsys, data_dir, tmp_path, monkeypatch, sigint):
    status, out, err = _train_pressing_ctrl_c(capsys, tmp_path, monkeypatch)
    assert status == 0, err
    result = json.loads(out)
    assert not result["interrupted"] and result["epochs"] == 3
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


# --------------------------------------------------------------------------------------------------
# bench, info, failures
# --------------------------------------------------------------------------------------------------


def test_bench_quick(capsys, monkeypatch):
    from hdr_core import inference

    fast = next(m.path for m in inference.shipped_models() if m.name == "hdr-fast")
    real_load_times = bench.load_times
    monkeypatch.setattr(bench, "load_times", lambda repeats: real_load_times([fast], repeats=1))  # one model, once
    status, out, err = _run(capsys, "bench", "--json", "--quick", "--repeats", "5", "--model", str(fast))
    assert status == 0, err
    report = json.loads(out)
    assert "training" not in report
    for name in ("predict", "canvas"):
        assert report[name]["ours"]["median_ms"] > 0 and report[name]["baseline"]["median_ms"] > 0
        assert report[name]["speedup"] > 0
    (load,) = report["model_load"]
    assert load["file_bytes"] == fast.stat().st_size and load["ours"]["seconds"] > 0
    assert len(bench.describe(report)) >= 4


def test_synthetic_canvas_reads_as_a_digit():
    from hdr_core import preprocess

    canvas = bench.synthetic_canvas()
    assert canvas.shape == (280, 280, 4) and canvas.dtype == np.uint8
    assert preprocess.preprocess(preprocess.from_canvas(canvas)).model_input.max() > 0.5


def test_time_to_accuracy_reads_the_worker_result(monkeypatch):
    history = {"seconds": [10.0, 19.5, 30.0], "test_accuracy": [0.985, 0.9912, 0.993]}

    def fake_run(command, **kwargs):
        assert json.loads(command[-1]) == {"preset": "fast", "epochs": 3, "target": 0.99, "train_limit": None,
                                           "stop_at_target": True}
        line = json.dumps({"history": history, "test_accuracy": 0.993, "params": 1, "peak_rss_mb": 700.0})
        return subprocess.CompletedProcess(command, 0, stdout="noise\n" + line + "\n")

    monkeypatch.setattr(bench.subprocess, "run", fake_run)
    figure = bench.time_to_accuracy("fast", epochs=3)
    assert (figure["reached"], figure["seconds_to_target"], figure["epoch_reached"]) == (True, 19.5, 2)
    assert figure["peak_rss_mb"] == 700.0


def test_info(capsys):
    status, out, _ = _run(capsys, "info", "--json")
    assert status == 0
    info = json.loads(out)
    assert set(info) >= {"models", "datasets", "data_dirs", "HDR_DATA_DIR", "versions"}
    assert info["models"] and info["models"][0]["default"]
    assert "mnist" in info["datasets"] and info["versions"]["tensorflow"]
    status, out, _ = _run(capsys, "info")
    assert status == 0 and "models" in out and "hdr-accurate (default)" in out


def test_unexpected_error_is_one_line(capsys, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(info, "info_report", broken)
    monkeypatch.delenv("HDR_DEBUG", raising=False)
    status, out, err = _run(capsys, "info", "--json")
    assert status == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "RuntimeError: boom" in err


def test_json_has_no_nan(capsys):
    assert common.dumps({"a": float("nan"), "b": np.float32(0.5), "c": np.arange(2), "d": Path("x")}) == (
        '{"a": null, "b": 0.5, "c": [0, 1], "d": "x"}')


# --------------------------------------------------------------------------------------------------
# Real processes: stdout must be clean JSON (no TensorFlow log lines)
# --------------------------------------------------------------------------------------------------


def _python_m(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the CLI must quiet TF itself
    return subprocess.run([sys.executable, "-m", "hdr_core", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_process_info_json_is_clean():
    completed = _python_m("info", "--json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["models"]


def test_process_predict_json_is_clean(images):
    completed = _python_m("predict", "--json", str(images["seven"]), str(images["text"]))
    assert completed.returncode == 2
    good, bad = (json.loads(line) for line in completed.stdout.splitlines())
    assert "digit" in good and "error" in bad
    assert "Traceback" not in completed.stderr
    assert "oneDNN" not in completed.stderr and "absl::InitializeLog" not in completed.stderr


def test_train_out_path_is_the_stem_whether_or_not_it_ends_in_keras(tmp_path):
    """``--out m.keras`` saves m.keras and m.json, and the progress line names m.keras (not m.keras.keras)."""
    config = TrainConfig.from_preset("fast")
    assert train._train_out_path(str(tmp_path / "m.keras"), config) == tmp_path / "m"
    assert train._train_out_path(str(tmp_path / "m"), config) == tmp_path / "m"
    assert train._train_out_path(str(tmp_path) + "/", config).parent == tmp_path
