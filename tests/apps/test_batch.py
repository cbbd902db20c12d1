"""Input selection shared by the batch CLIs."""

from __future__ import annotations

from apps.batch import expand_inputs, one_per_stem, transcript_or_audio


def test_one_input_per_call_and_no_own_outputs(tmp_path):
    for name in (
        "rec.srt",
        "rec.json",
        "rec.rttm",
        "rec.form.json",
        ".cache.json",
        "autre.wav",
        "autre.txt",
        "z.ogg",
    ):
        (tmp_path / name).write_bytes(b"x")
    files, bad = expand_inputs([tmp_path], transcript_or_audio((".form.json", ".rs-eda.json")))
    assert not bad
    assert [f.name for f in files] == ["autre.txt", "autre.wav", "rec.json", "rec.srt", "z.ogg"]
    # per call (folder + stem): the preferred transcript, else the audio
    assert [f.name for f in one_per_stem(files)] == ["autre.txt", "rec.json", "z.ogg"]
