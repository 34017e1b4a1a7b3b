"""Tests for the model zoo (hdr_core.zoo and ``python -m hdr_core zoo``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hdr_core import realdev, zoo
from hdr_core.cli import main
from hdr_core.models import PRESETS

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


@pytest.fixture
def few_real_dev(data_dir, monkeypatch):
    """real-dev cut to 30 single digits and one whole number, so a zoo run scores quickly."""
    samples = realdev.load_real_dev()
    few = [s for s in samples if s.kind != "multi"][::80][:30] + [s for s in samples if s.kind == "multi"][:1]
    monkeypatch.setattr(realdev, "load_real_dev", lambda *args, **kwargs: few)
    return few


def test_the_zoo_trains_the_four_references_and_the_eight_experiment_cases():
    assert tuple(zoo.ZOO_RUNS) == ("tk-mlp", "emnist-cnn", "notebook-cnn", "blog-cnn", "blog-cnn-case-1",
                                   "blog-cnn-4dense", "blog-cnn-l2", "blog-cnn-4dense-l2", "blog-cnn-rot",
                                   "blog-cnn-4dense-rot", "blog-cnn-l2-rot", "blog-cnn-4dense-l2-rot")
    assert all(PRESETS[run.preset].reference for run in zoo.ZOO_RUNS.values())
    case_1 = zoo.ZOO_RUNS["blog-cnn-case-1"]
    assert (case_1.preset, case_1.overrides, case_1.reported) == ("blog-cnn", {"epochs": 20}, "98.61%")
    assert zoo.ZOO_RUNS["blog-cnn-4dense-l2-rot"].reported == "98.37%"
    assert zoo.ZOO_RUNS["emnist-cnn"].reported.startswith("99.4% on EMNIST Digits")


def test_zoo_trains_scores_and_resumes(capsys, tmp_path, few_real_dev):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{zoo.TABLE_BEGIN}\nold\n{zoo.TABLE_END}\n")
    argv = ["zoo", "--json", "--preset", "tk-mlp", "--epochs", "1", "--train-limit", "1000",
            "--out-dir", str(tmp_path / "zoo"), "--readme", str(readme)]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    result = json.loads(out)
    trained = [e for e in result["entries"] if not e["shipped"]]
    assert [e["name"] for e in trained] == ["tk-mlp"]
    entry = trained[0]
    assert entry["epochs"] == 1 and entry["params"] == 118_282
    assert 0.3 < entry["test_accuracy"] <= 1 and 0 <= entry["real_dev_accuracy"] <= 1
    assert entry["command"].startswith("python -m hdr_core train --preset tk-mlp")
    card = json.loads((tmp_path / "zoo" / "tk-mlp.json").read_text())
    assert card["real_dev"]["n"] == 30 and card["real_dev"]["numbers_exact"].endswith("/1")
    assert "| `tk-mlp` | Tk GUI MLP (reference) | 118,282 | 1 |" in result["table"]
    # A quick run (recipe overridden) must not pass for the real table.
    assert "old" in readme.read_text() and result["readme"] is None
    # The same command again reuses the finished run instead of training.
    status, _, err = _run(capsys, *argv)
    assert status == 0 and "reusing" in err and "training:" not in err
    # So does a card written before a TrainConfig field existed (the field takes its default).
    del card["config"]["precision"]
    (tmp_path / "zoo" / "tk-mlp.json").write_text(json.dumps(card))
    status, _, err = _run(capsys, *argv)
    assert status == 0 and "reusing" in err and "training:" not in err


def test_write_table_replaces_only_what_is_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{zoo.TABLE_BEGIN}\nold table\n{zoo.TABLE_END}\nafter\n")
    entry = zoo.ZooEntry("blog-cnn", "Blog CNN", 1234, 10, 99.5, 0.991, 0.85, "python -m hdr_core train ...",
                         reported="98.61%")
    zoo.write_table(readme, zoo.markdown_table([entry]))
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith(f"{zoo.TABLE_END}\nafter\n") and "old table" not in text
    assert "| `blog-cnn` | Blog CNN | 1,234 | 10 | 100 | 99.10% | 85.00% | 98.61% |" in text
    no_markers = tmp_path / "plain.md"
    no_markers.write_text("nothing here\n")
    with pytest.raises(ValueError, match="zoo-table"):
        zoo.write_table(no_markers, "table")


def test_a_cards_real_dev_share_is_shown_as_the_evaluate_command_shows_it():
    # 2422 of 2485 right is 97.4648%: `evaluate` prints 97.46%, and the card stores 0.97465. The table
    # must not round the stored figure a second time into 97.47%.
    card = {"name": "m", "params": 1, "epochs": 1, "train_seconds": 1.0, "test_accuracy": 0.99,
            "real_dev": {"accuracy": round(2422 / 2485, 5), "n": 2485}}
    assert "| 97.46% |" in zoo.markdown_table([zoo.ZooEntry.from_card(card, shipped=True)])
    del card["real_dev"]["n"]  # an older card without the count keeps its stored figure
    assert zoo.ZooEntry.from_card(card).real_dev_accuracy == 0.97465


def test_zoo_refuses_a_missing_readme_before_training(capsys, tmp_path):
    status, _, err = _run(capsys, "zoo", "--preset", "tk-mlp", "--readme", str(tmp_path / "nope.md"))
    assert status == 2 and "nope.md" in err and "--no-readme" in err


def test_readme_zoo_table_lists_every_reference_preset_and_the_shipped_models():
    text = (REPO_ROOT / "README.md").read_text()
    table = text[text.index(zoo.TABLE_BEGIN):text.index(zoo.TABLE_END)]
    for name, run in zoo.ZOO_RUNS.items():
        row = next((line for line in table.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is missing from README's zoo table"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[5].endswith("%") and cells[6].endswith("%")  # MNIST test and real-dev both measured
        assert cells[7] == (run.reported or "–")  # beside what the reference reports
    for entry in zoo.shipped_entries():
        assert f"**{entry.name}** (shipped)" in table
