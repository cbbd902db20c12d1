"""Small transcripts for the summaries tests."""

from __future__ import annotations

from asr.transcript import Segment, Transcript

DEBATE = [
    ("Anne Dupré", "Bonsoir à tous. Ce soir nous parlons de l'école et de la réforme des rythmes scolaires."),
    (
        "Jean Martin",
        "Je veux une école exigeante, où l'on apprend à lire, écrire et compter avant toute chose. "
        "Les enseignants doivent être mieux payés, c'est une priorité absolue pour notre pays.",
    ),
    (
        "Élise Bernard",
        "L'école doit d'abord réduire les inégalités entre les enfants des quartiers et les autres. "
        "Je propose des classes de douze élèves dans les zones prioritaires, dès la rentrée prochaine.",
    ),
    (
        "Jean Martin",
        "Les classes réduites coûtent très cher et personne ne sait comment vous les financerez. "
        "Je préfère revaloriser le salaire des enseignants et renforcer l'autorité du maître.",
    ),
    (
        "Élise Bernard",
        "Le financement existe : nous supprimerons les niches fiscales inutiles des plus riches. "
        "La réussite de chaque enfant vaut bien cet effort budgétaire.",
    ),
    (
        "Anne Dupré",
        "Merci. Passons maintenant à la question de l'apprentissage et de l'orientation des jeunes.",
    ),
    (
        "Jean Martin",
        "L'apprentissage est une voie d'excellence, il faut le développer dès quatorze ans dans "
        "toutes les régions de France.",
    ),
    (
        "Élise Bernard",
        "Quatorze ans, c'est beaucoup trop tôt pour choisir un métier : je refuse cette orientation "
        "précoce qui enferme les enfants des familles modestes.",
    ),
]


def transcript(turns=DEBATE, source: str = "debat.txt") -> Transcript:
    segs, t = [], 0.0
    for spk, text in turns:
        d = len(text.split()) / 2.5
        segs.append(Segment(t, t + d, spk, text))
        t += d
    return Transcript(tuple(segs), language="fr", source=source)


def fredsum_text(turns=DEBATE) -> str:
    return "\r\n\r\n".join(f"{spk} : {text}" for spk, text in turns) + "\r\n"
