"""``llm4all evaluate-summaries``: a file that could not be evaluated makes the exit code 1, and
the JSON report stays standard JSON when a mean has no file to average (no ``NaN``)."""

from __future__ import annotations

import json
import shutil

import pytest

from apps.cli import main as cli
from tests.conftest import shared

TWO = ["Royale_Sarkozy--Partie_5_Ecole.txt", "Destaing_Mitterrand_2--Partie_3_Afrique.txt"]


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name} in the report")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def fredsum(tmp_path):
    """A FREDSum root holding only the two files' transcripts (references and peers linked)."""
    src = shared("fredsum")
    root = tmp_path / "fredsum"
    (root / "transcript").mkdir(parents=True)
    for name in TWO:
        shutil.copy(src / "transcript" / name, root / "transcript" / name)
    for d in ("summary_abstractive", "summary_abstractive_prediction"):
        (root / d).symlink_to(src / d)
    shutil.copy(src / "FREDSum_test.json", root / "FREDSum_test.json")
    return root


def test_missing_summary_in_a_pred_folder_is_a_failure(fredsum, tmp_path, capsys):
    pred = tmp_path / "pred"
    pred.mkdir()
    stem = TWO[0].removesuffix(".txt")
    (pred / f"{stem}.summary.txt").write_text("Ségolène Royal parle de l'école et des enseignants.\n")
    out = tmp_path / "r.json"
    args = ["evaluate-summaries", "--root", str(fredsum), "--files", *TWO, "--no-peers", "-q"]
    rc = cli([*args, "--pred", str(pred), "--json", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "ÉCHEC" in err and "dossier pred" in err and TWO[1] in err
    system = _strict(out.read_text())["systems"]["dossier pred"]
    assert system["n_files"] == 1 and TWO[1] in system["failed"]


def test_empty_pred_folder_gives_null_means_not_nan(fredsum, tmp_path, capsys):
    pred = tmp_path / "vide"
    pred.mkdir()
    out = tmp_path / "r.json"
    rc = cli(
        ["evaluate-summaries", "--root", str(fredsum), "--files", TWO[0], "--no-peers", "--no-baselines"]
        + ["--pred", str(pred), "--json", str(out), "-q"]
    )
    assert rc == 1  # no summary at all in the folder
    system = _strict(out.read_text())["systems"]["dossier vide"]
    assert system["own_files"] == {"rouge1": None, "rouge2": None, "rougeL": None}


def test_test_split_file_that_cannot_be_read_is_a_failure(fredsum, capsys):
    # the default file list is the whole test split; this root has only two transcripts
    rc = cli(["evaluate-summaries", "--root", str(fredsum), "--no-peers", "--no-baselines", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "ÉCHEC" in err and "transcription" in err
