"""Render the bundled example call ``examples/appel_exemple.ogg`` (our own French script).

The script below was written for this project (no third-party text). Rendering needs
espeak-ng (``scripts/install-system.sh``); the result is committed (Opus, ~60 KB) so that
``make run`` works offline without regenerating it.

    .venv/bin/python examples/make_example.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import soundfile as sf

from asr.synth import SynthOptions, render_transcript
from asr.transcript import Segment, Transcript, write_json

HERE = Path(__file__).resolve().parent

SCRIPT = [
    (0.5, 4.5, "regulateur", "samu bonjour, docteur martin, je vous écoute"),
    (5.0, 9.5, "appelant", "bonjour docteur, c'est pour mon père, il est tombé dans la cuisine"),
    (10.0, 13.0, "regulateur", "d'accord, quel âge a votre père ?"),
    (13.5, 16.0, "appelant", "il a soixante dix huit ans"),
    (16.5, 19.5, "regulateur", "est-ce qu'il respire normalement ?"),
    (20.0, 25.0, "appelant", "oui il respire, mais il a très mal à la hanche et il ne peut pas se lever"),
    (25.5, 29.0, "regulateur", "quelle est votre adresse exacte ?"),
    (29.5, 33.5, "appelant", "douze rue des lilas à orléans, au deuxième étage"),
    (
        34.0,
        40.0,
        "regulateur",
        "très bien, on vous envoie une ambulance, ne le bougez pas et restez à côté de lui",
    ),
    (40.5, 42.5, "appelant", "merci docteur"),
]


def main() -> int:
    t = Transcript(tuple(Segment(s, e, spk, text) for s, e, spk, text in SCRIPT), language="fr")
    r = render_transcript(t, SynthOptions(regulator_speakers=("regulateur",)))
    sf.write(HERE / "appel_exemple.ogg", r.audio, r.sample_rate, format="OGG", subtype="OPUS")
    write_json(r.reference, HERE / "appel_exemple.ref.json")
    print(f"wrote {HERE / 'appel_exemple.ogg'} ({r.duration:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
