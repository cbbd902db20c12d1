"""``llm4all demo`` (apps/demo.py): its pure helpers, then the app itself driven in Debian's
headless Chromium with Playwright (real bundled models, real recordings), and its ``analyser``
API endpoint through ``gradio_client``.

The browser tests need ``/usr/bin/chromium`` (Debian package ``chromium``) and the Python package
``playwright`` (its own browser download is not used); they skip, saying so, where either is absent.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path

import pytest

from apps import demo
from asr.transcript import Segment, Transcript
from samu.export import to_rs_eda, validate_rs_eda
from samu.schema import FIELDS, CallForm, Evidence, FieldValue
from tests.conftest import ROOT, shared

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
EXAMPLE = ROOT / "examples" / "appel_exemple.ogg"


# ----------------------------------------------------------------------------- pure helpers


def _call() -> tuple[Transcript, CallForm]:
    t = Transcript(
        (
            Segment(0.5, 3.0, "SPEAKER_00", "Samu bonjour, je vous écoute."),
            Segment(5.0, 7.7, "SPEAKER_01", "Mon Père est tombé dans la cuisine, il a 82 ans."),
            Segment(9.9, 13.4, "SPEAKER_00", "On vous envoie une ambulance <b>{tout de suite}</b>."),
        ),
        language="fr",
        duration=14.0,
        roles={"SPEAKER_00": "regulateur", "SPEAKER_01": "appelant"},
    )
    ev = Evidence(1, "est tombé", "SPEAKER_01", 5.0, 7.7)
    form = CallForm(
        {
            "qualification.motif": FieldValue("M06.03", (ev,), 1.0),
            "qualification.priority": FieldValue("P2", (ev,), 0.6),
            "patient.age": FieldValue("82 ans", (Evidence(1, "82 ans", "SPEAKER_01", 5.0, 7.7),), 0.9),
            "location.address_present": FieldValue(False, (), 0.6),
        }
    )
    return t, form


def test_form_rows_show_every_field_with_value_confidence_and_quote():
    _, form = _call()
    rows = demo.form_rows(form)
    assert len(rows) == len(FIELDS)
    by_label = {r[0]: r for r in rows}
    motif = by_label["Motif de recours"]
    assert motif[1].startswith("M06.03 — ")  # code and its Hub Santé label
    assert motif[2] == "100 %"
    assert motif[3] == "« est tombé » (00:05)"
    assert by_label["Priorité"][1:3] == ["P2 — Non Urgent", "60 %"]
    assert by_label["Adresse donnée"][1] == "non"
    assert by_label["Commune"] == ["Commune", "—", "", ""]  # not stated: shown as missing


def test_transcript_html_colours_roles_times_and_highlight():
    t, form = _call()
    page = demo.transcript_html(t)
    assert page.count('class="l4a-turn"') == 3
    assert "Régulateur (SPEAKER_00)" in page and "Appelant (SPEAKER_01)" in page
    assert 'data-start="5.00"' in page and ">00:05<" in page
    colours = demo.speaker_colours(t)
    assert f"--c:{colours['SPEAKER_00']}" in page and f"--c:{colours['SPEAKER_01']}" in page
    assert "<b>" not in page and "&lt;b&gt;" in page and "{" not in page  # text escaped
    marked = demo.transcript_html(t, form.fields["qualification.motif"].evidence)
    assert marked.count("l4a-hl") == 1
    assert '<mark class="l4a-quote">est tombé</mark>' in marked
    # accent- and case-insensitive: the quote is found as said
    assert '<mark class="l4a-quote">Père</mark>' in demo.transcript_html(t, [Evidence(1, "pere")])
    assert "apparaîtra ici" in demo.transcript_html(None)


def test_apply_edit_sets_revalidates_and_keeps_evidence():
    _, form = _call()
    new, err = demo.apply_edit(form, "qualification.priority", "P1 — Prioritaire")
    assert err is None
    fv = new.fields["qualification.priority"]
    assert (fv.value, fv.confidence, fv.source) == ("P1", 1.0, "manuel")
    assert fv.evidence == form.fields["qualification.priority"].evidence
    assert form.value("qualification.priority") == "P2"  # the old form is untouched
    assert validate_rs_eda(to_rs_eda(new, case_ref="x")) == []
    assert demo.form_rows(new)[1][2] == "saisi par vous"
    for field, raw, value in (
        ("patient.age", "3 mois", "3 mois"),
        ("patient.age", "1 an", "1 ans"),
        ("location.address_present", "oui", True),
        ("qualification.risks", ["R30 — Patient/Victime blessé", "R21"], ("R30", "R21")),
        ("qualification.motif", "m03.06", "M03.06"),
        ("location.city", "  Saint-Denis ", "Saint-Denis"),
    ):
        new, err = demo.apply_edit(form, field, raw)
        assert err is None and new.value(field) == value, (field, raw, err)
    cleared, err = demo.apply_edit(form, "patient.age", "")
    assert err is None and "patient.age" not in cleared.fields


@pytest.mark.parametrize(
    "field, raw, words",
    [
        ("qualification.priority", "P9", "ne fait pas partie de la liste (P0, P1, P2, P3, NR)"),
        ("patient.age", "trois ans", "écrire l'âge en chiffres"),
        ("qualification.motif", "M99.99", "ne fait pas partie de la liste"),
        ("location.address_present", "peut-être", "répondre oui ou non"),
        ("qualification.risks", "R99", "ne fait pas partie de la liste"),
        ("patient.history", "x" * 400, "texte trop long"),
    ],
)
def test_apply_edit_refuses_in_french(field, raw, words):
    _, form = _call()
    new, err = demo.apply_edit(form, field, raw)
    assert new is form
    assert err.startswith(demo.FIELD_LABELS[field] + " : ") and words in err


def test_with_form_keeps_message_ids_and_time():
    from apps.pipeline import CallResult

    t, form = _call()
    msg = to_rs_eda(form, case_ref="/tmp/appel.ogg", creation="2024-05-01T10:00:00+02:00")
    result = CallResult("appel.ogg", "audio", t, form, msg)
    new_form, _ = demo.apply_edit(form, "qualification.priority", "P0")
    new = demo.with_form(result, new_form, "/tmp/appel.ogg", "fr.health.samu000")
    assert new.rs_eda["caseId"] == msg["caseId"] and new.rs_eda["creation"] == msg["creation"]
    assert new.rs_eda["qualification"]["details"]["priority"] == "P0"


def test_progress_step_maps_the_pipeline_hook():
    frac, label = demo.progress_step("asr/transcribe", 60, 120)
    assert 0.3 < frac < 0.5 and label == "Transcription de l'audio (01:00 / 02:00)"
    assert demo.progress_step("asr/diarize", 1, 1) == (0.85, "Séparation des locuteurs")
    assert demo.progress_step("form/findings", 1, 4)[1] == "Remplissage de la fiche SAMU"
    assert demo.progress_step("summary", 1, 1) == (1.0, "Résumé")
    fracs = [demo.progress_step(s, 1, 1)[0] for s in ("asr/transcribe", "asr/diarize", "form", "summary")]
    assert fracs == sorted(fracs)


def test_md_text_and_neutral_names():
    assert demo.md_text("**x** <img> [a](b)") == "\\*\\*x\\*\\* &lt;img&gt; \\[a\\](b)"
    from apps.pipeline import CallResult

    t, form = _call()
    r = CallResult("dupont_jean.ogg", "audio", Transcript(t.segments, source="dupont_jean.ogg"), form)
    n = demo.neutral_names(r, "appel_pseudonymise")
    assert "dupont" not in json.dumps(n.transcript.to_dict()) and n.source == "appel_pseudonymise"
    assert demo.safe_stem("/x/appel du 3 mai.ogg") == "appel_du_3_mai"


def test_private_workdir_is_private(monkeypatch):
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    d = demo.private_workdir()
    try:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
        assert os.environ["GRADIO_TEMP_DIR"] == str(d)
    finally:
        d.rmdir()


def test_command_line():
    from apps.cli import PASSTHROUGH

    assert ("demo", "apps.demo") in [(n, m) for n, m, _ in PASSTHROUGH]
    a = demo.build_parser().parse_args([])
    assert (a.host, a.port, a.auth, a.max_upload_mb, a.extractor) == (
        "127.0.0.1",
        7860,
        None,
        200,
        "hybrid-motif",
    )
    assert demo.main(["--auth", "sans-deux-points"]) == 2
    assert demo.main(["--max-upload-mb", "0"]) == 2
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


# ----------------------------------------------------------------------------- the app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    """The app on a free local port, with the real bundled models loaded once."""
    from apps.pipeline import load_models

    old_tmp = os.environ.get("GRADIO_TEMP_DIR")
    models = load_models(demo.demo_options("call"), audio=True)
    app = demo.build_app(models)
    _, url, _ = demo.launch(app, "127.0.0.1", _free_port(), block=False, quiet=True)
    yield url
    app.close()
    if old_tmp is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = old_tmp


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian Chromium absent (/usr/bin/chromium): apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip) not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    ctx = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(app_url)
    pg.wait_for_selector("#l4a-analyser")
    yield pg
    ctx.close()


def _pick(pg, dropdown: str, option: str) -> None:
    pg.click(f"{dropdown} input")
    pg.get_by_role("option", name=option).click()


def test_browser_call_analysis_edit_and_export(page, tmp_path, record_property):
    pg = page
    t0 = time.perf_counter()
    pg.set_input_files("#l4a-audio input[type=file]", str(EXAMPLE))
    pg.wait_for_selector("#l4a-audio [data-testid=download-link]", state="attached")  # uploaded
    pg.click("#l4a-analyser")
    # never a frozen page: the pipeline's progress shows over the transcript while it runs
    pg.wait_for_function(
        "() => document.querySelector('#l4a-transcription').innerText.includes('Transcription de l')"
    )
    grid = "#l4a-form [role=gridcell]"
    pg.locator(grid, has_text="M06.03").first.wait_for(timeout=120_000)
    seconds = time.perf_counter() - t0
    record_property("upload_to_form_s", round(seconds, 1))
    print(f"\nexemple : de l'envoi à la fiche en {seconds:.1f} s")

    # the speakers, coloured, with their roles and times
    legend = pg.inner_text("#l4a-transcription .l4a-legend")
    assert "Régulateur" in legend and "Appelant" in legend
    turns = pg.locator("#l4a-transcription .l4a-turn")
    assert turns.count() >= 4
    assert "tombé" in pg.inner_text("#l4a-transcription")
    assert "Analyse terminée" in pg.inner_text("#l4a-status")

    # a turn clicked plays the audio from its start
    turn = turns.nth(3)
    start = float(turn.get_attribute("data-start"))
    turn.click()
    pg.wait_for_function(
        "s => { const a = document.querySelector('#l4a-lecteur audio'); return a && a.currentTime >= s - 0.05; }",
        arg=start,
    )
    assert start > 5  # really moved, not just playing from the top

    # a form field with its value, confidence and evidence quote
    motif_row = pg.locator("#l4a-form [role=row]", has_text="Motif de recours").first.inner_text()
    assert "M06.03 — " in motif_row and "« est tombé »" in motif_row and "%" in motif_row

    # choosing a field highlights its quote and loads its value into the editor
    pg.locator(grid, has_text="Priorité").first.click()
    pg.wait_for_selector("#l4a-transcription mark.l4a-quote")
    assert pg.locator("#l4a-transcription mark.l4a-quote").first.inner_text() == "est tombé"
    assert pg.locator("#l4a-transcription .l4a-hl").count() == 1
    assert "« est tombé »" in pg.inner_text("#l4a-preuve")
    assert pg.input_value("#l4a-valeur-code input") == "P2 — Non Urgent"

    # a valid edit is re-validated and shown
    _pick(pg, "#l4a-valeur-code", "P1 — Prioritaire")
    pg.click("#l4a-valider")
    pg.wait_for_selector("#l4a-edit-status :text('Modification enregistrée')")
    assert "message RS-EDA conforme" in pg.inner_text("#l4a-edit-status")
    row = pg.locator("#l4a-form [role=row]", has_text="Priorité").first
    pg.wait_for_function(
        "() => [...document.querySelectorAll('#l4a-form [role=row]')].some(r => r.innerText.includes('P1 — Prioritaire'))"
    )
    assert "saisi par vous" in row.inner_text()

    # an invalid edit is refused, in French, and changes nothing
    _pick(pg, "#l4a-champ", "Âge du patient")
    pg.wait_for_selector("#l4a-valeur-texte textarea, #l4a-valeur-texte input")
    pg.fill("#l4a-valeur-texte textarea, #l4a-valeur-texte input", "trois ans")
    pg.click("#l4a-valider")
    pg.wait_for_selector("#l4a-edit-status :text('Modification refusée')")
    error = pg.inner_text("#l4a-edit-status")
    assert "Âge du patient" in error and "écrire l'âge en chiffres" in error

    # the RS-EDA download holds the edit and passes the Hub Santé schema
    with pg.expect_download() as dl:
        pg.click("#l4a-fichiers a[download$='.rs-eda.json']")
    rs_eda = tmp_path / dl.value.suggested_filename
    dl.value.save_as(rs_eda)
    msg = json.loads(rs_eda.read_text(encoding="utf-8"))
    assert validate_rs_eda(msg) == []
    assert msg["qualification"]["details"]["priority"] == "P1"
    assert msg["qualification"]["healthMotive"]["code"] == "M06.03"
    links = pg.locator("#l4a-fichiers a[download]")
    names = [links.nth(i).get_attribute("download") for i in range(links.count())]
    assert {
        "appel_exemple.json",
        "appel_exemple.srt",
        "appel_exemple.form.json",
        "appel_exemple.note.txt",
        "appel_exemple.report.html",
    } <= set(names)
    resume = pg.input_value("#l4a-resume textarea")
    assert resume.startswith("Motif : ") and "M06.03" in resume.splitlines()[0]  # the call note first
    assert "regulateur" in resume.lower()

    pg.locator(grid, has_text="Priorité").first.click()  # the view a doctor would look at
    pg.wait_for_selector("#l4a-transcription mark.l4a-quote")
    pg.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    pg.screenshot(path="/tmp/demo_screenshot.png", full_page=True)


def test_browser_meeting_with_transcript_file(page):
    """A transcript file in meeting mode, with the bundled example as its audio: the transcript
    is analysed (speakers, summary, no SAMU form) and the audio only plays."""
    pg = page
    pg.get_by_text("appel_exemple.ogg").first.click()  # the bundled example
    pg.wait_for_selector("#l4a-audio [data-testid=download-link]", state="attached")
    pg.get_by_label("Réunion (compte rendu)").check()
    pg.set_input_files(
        "#l4a-transcript-file input[type=file]", str(ROOT / "examples" / "appel_exemple.ref.json")
    )
    pg.click("#l4a-analyser")
    pg.wait_for_selector("#l4a-status :text('Analyse terminée')", timeout=60_000)
    assert pg.locator("#l4a-transcription .l4a-turn").count() > 5
    assert not pg.is_visible("#l4a-fiche")
    assert pg.input_value("#l4a-resume textarea").strip()
    status = pg.inner_text("#l4a-status")
    assert "entrée : json" in status and "l'audio sert de lecteur" in status
    assert pg.locator("#l4a-lecteur audio").count() == 1


def test_api_analyser_with_gradio_client(app_url):
    """The ``analyser`` endpoint scripted with gradio_client, on a real two-speaker clip."""
    client_mod = pytest.importorskip("gradio_client")
    clip = shared("audio", "medkit_dialog", "dialog.ogg")
    client = client_mod.Client(app_url, verbose=False)
    assert "/analyser" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    transcript, form, summary = client.predict(
        client_mod.handle_file(str(clip)), "appel", False, api_name="/analyser"
    )
    t = Transcript.from_dict(transcript)
    assert len(t.speakers) == 2 and set(t.roles.values()) == {"regulateur", "appelant"}
    assert "Orléans" in t.text
    assert CallForm.from_dict(form).fields  # a form came back, in the project's format
    assert summary.strip()
    transcript, form, summary = client.predict(
        client_mod.handle_file(str(ROOT / "examples" / "appel_exemple.ref.json")),
        "reunion",
        True,
        api_name="/analyser",
    )
    assert form is None and transcript["segments"] and summary.strip()
    text = Transcript.from_dict(transcript).text
    assert "[NOM_1]" in text and "martin" not in text.lower()  # pseudonymised
    assert transcript["source"] == "reunion_pseudonymisee"  # no input file name left
