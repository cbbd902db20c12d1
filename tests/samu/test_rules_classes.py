"""Rule extractor, classes of errors found on writers the rules had not seen: each test is a short
dialogue written for its class (new wording, speech style, numbers in words, no punctuation)."""

from __future__ import annotations

import datetime

import pytest

from samu.schema import CallForm
from samu.text import negated_at
from tests.samu.dialogue import A, R, T, rules_form

DAY = datetime.date(2026, 3, 2)


def form(*turns: tuple[str, str]) -> CallForm:
    return rules_form(*turns, day=DAY)


def value(field: str, *turns: tuple[str, str]):
    return form(*turns).values().get(field)


def motif(*turns: tuple[str, str]) -> str | None:
    return value("qualification.motif", *turns)


# ---------------------------------------------------------------------------------------------
# answers to the regulator's routine checklist are history, not the complaint


def test_allergy_listed_in_the_checklist_answer_is_not_the_motif():
    assert (
        motif(
            (R, "samu j'écoute"),
            (A, "bonjour mon père il a très mal au ventre depuis ce midi il se tord de douleur"),
            (R, "il prend un traitement il a des allergies"),
            (A, "du kardégic et il est allergique à la codéine ça lui donne de l'urticaire"),
            (R, "je vous envoie un médecin"),
        )
        == "M03.20"
    )


def test_a_bare_non_after_the_word_denies_it_but_a_tag_question_does_not():
    txt = "allergie non rien"
    assert negated_at(txt, 0, len("allergie"))
    txt = "il a vomi non ?"
    assert not negated_at(txt, 5, 9)


def test_a_measured_normal_value_is_no_finding():
    # the regulator asks for the sugar level, the answer is normal: no hypoglycaemia
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "bonjour ma voisine elle a mal à la tête depuis hier soir une migraine terrible"),
            (R, "vous pouvez prendre sa glycémie"),
            (A, "oui un gramme deux"),
            (R, "et la température"),
            (A, "trente-six huit"),
        )
        == "M03.11"
    )


def test_mal_au_coeur_is_nausea_not_chest_pain():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "oui c'est moi j'ai mal au cœur depuis ce matin et je vomis tout ce que je mange"),
            (R, "vous avez de la fièvre"),
            (A, "non"),
        )
        == "M03.21"
    )


def test_the_regulators_recap_late_in_the_call_counts():
    # the caller's words name no motif; the regulator's recap does
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "bonjour je suis l'aide à domicile je viens d'arriver il est tout pâle il bouge à peine"),
            (R, "il répond"),
            (A, "oui un peu il bafouille"),
            (R, "il fait combien chez lui"),
            (A, "douze degrés le poêle était éteint"),
            (R, "la température de monsieur vous l'avez prise"),
            (A, "oui trente-quatre deux"),
            (R, "donc si je comprends bien un monsieur en hypothermie j'envoie les pompiers"),
        )
        == "M02.03"
    )


# ---------------------------------------------------------------------------------------------
# lexicon families


@pytest.mark.parametrize(
    "opening, expected",
    [
        ("mon copain il a pris de la coke et des cachets d'ecstasy il est tout bizarre", "M04.01"),
        (
            "on a mélangé de la javel et un détartrant et ma collègue a respiré les vapeurs elle tousse",
            "M04.02",
        ),
        ("mon frère il s'est fait couper deux doigts par la scie circulaire", "M02.09"),
        ("j'ai un mal de dos horrible depuis que j'ai porté le canapé", "M03.22"),
        ("ma femme la main droite elle lâche tout et elle parle pâteux depuis une heure", "M03.08"),
    ],
)
def test_lexicon_families(opening, expected):
    assert motif((R, "samu bonjour"), (A, opening), (R, "d'accord")) == expected


def test_knocking_at_the_door_is_not_a_blow():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "c'est pour mon voisin du dessus on le voit plus depuis trois jours"),
            (R, "vous avez frappé chez lui"),
            (A, "j'ai frappé à la porte plusieurs fois et il répond pas au téléphone"),
        )
        == "M06.04"
    )


# ---------------------------------------------------------------------------------------------
# the guide's tie-breakers


def test_a_past_delivery_with_bleeding_is_obstetric_bleeding_not_labour():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "bonjour ma sœur a accouché il y a une semaine et là elle saigne beaucoup des caillots"),
            (R, "elle a mal"),
            (A, "un peu au ventre"),
        )
        == "M03.04"
    )


def test_labour_announced_is_still_labour():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma femme va accoucher elle a des contractions toutes les deux minutes"),
        )
        == "M03.01"
    )


def test_a_complaint_of_a_pregnant_woman_is_an_obstetric_problem():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "je suis enceinte de trois mois et je vomis tout depuis deux jours même l'eau"),
            (R, "vous avez de la fièvre"),
            (A, "non"),
        )
        == "M03.02"
    )


def test_heavy_periods_are_gynaecological_bleeding():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "bonjour j'ai mes règles et je saigne vraiment énormément je change tout le temps"),
            (R, "vous avez des allergies"),
            (A, "allergie non"),
        )
        == "M03.03"
    )


def test_bleeding_that_soaks_through_compression_after_a_cut_is_a_haemorrhage():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "mon ami s'est coupé la cuisse avec une disqueuse ça gicle"),
            (R, "vous appuyez fort"),
            (A, "oui mais ça traverse la serviette il y a du sang partout"),
            (R, "j'envoie le smur"),
        )
        == "M02.02"
    )


def test_heavy_bleeding_after_a_fall_is_traumatic_bleeding():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma fille est tombée de la balançoire elle saigne du nez ça arrête pas"),
            (R, "elle a perdu connaissance"),
            (A, "non elle pleure"),
        )
        == "M02.01"
    )


def test_nosebleed_without_injury_stays_a_small_bleeding_even_if_blood_is_spat():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "mon grand-père saigne du nez depuis vingt minutes il est sous anticoagulant"),
            (R, "il appuie"),
            (A, "oui ça coule dans la gorge il crache du sang ça continue malgré la compression"),
        )
        == "M03.18"
    )


def test_a_trauma_with_vital_signs_reported_is_grave():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "pompiers on a un motard qui a percuté une voiture il a mal au bassin"),
            (R, "les constantes"),
            (A, "il est pâle en sueur pouls à cent quarante tension à huit"),
        )
        == "M02.08"
    )


def test_normal_constants_do_not_make_a_trauma_grave():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "pompiers on a un jeune tombé de vélo fracture du poignet suspectée"),
            (R, "les constantes"),
            (A, "tension douze huit saturation quatre-vingt-dix-neuf glasgow quinze"),
        )
        == "M02.07"
    )


def test_burn_of_the_face_with_blisters_is_severe():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "mon mari s'est brûlé avec la vapeur de la cocotte"),
            (R, "où"),
            (A, "sur la joue et le cou et ça fait des cloques"),
        )
        == "M02.04"
    )


def test_a_burning_pain_is_not_a_burn():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "j'ai mal au ventre en haut ça me brûle depuis le repas"),
        )
        == "M03.20"
    )


def test_headache_after_hours_in_the_sun_is_a_heat_illness():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "mon fils a joué au foot tout l'après-midi en plein soleil et là il a très mal à la tête"),
            (R, "il vomit"),
            (A, "non"),
        )
        == "M02.03"
    )


# ---------------------------------------------------------------------------------------------
# ages: who said it, whose it is, which value was settled


def test_age_relayed_from_a_relative_is_the_patients():
    assert (
        value(
            "patient.age",
            (R, "samu bonjour"),
            (A, "secouriste du club de tennis un joueur s'est effondré on masse"),
            (R, "quel âge"),
            (A, "je sais pas sa femme dit soixante et onze ans"),
        )
        == "71 ans"
    )


def test_the_child_callers_own_age_is_not_the_patients():
    assert (
        value(
            "patient.age",
            (R, "samu bonjour"),
            (A, "c'est mon papa il est tombé dans l'escalier il se relève pas"),
            (R, "tu as quel âge toi"),
            (A, "onze ans"),
            (R, "et ton papa il a quel âge"),
            (A, "quarante-six ans"),
        )
        == "46 ans"
    )


def test_age_correction_with_words_between_keeps_the_second_value():
    assert (
        value(
            "patient.age",
            (R, "samu bonjour"),
            (A, "mon collègue est tombé de l'échafaudage"),
            (R, "il a quel âge"),
            (A, "trente-huit ans euh non attendez je me trompe de personne il a trente-quatre ans"),
        )
        == "34 ans"
    )


def test_age_restarted_after_a_round_number_keeps_the_whole_number():
    assert (
        value(
            "patient.age",
            (R, "samu bonjour"),
            (A, "ma voisine est par terre elle arrive pas à se relever"),
            (R, "elle a quel âge"),
            (A, "soixante euh soixante-quatre"),
        )
        == "64 ans"
    )


def test_a_hedged_age_range_keeps_its_lower_bound():
    assert (
        value(
            "patient.age",
            (R, "samu bonjour"),
            (A, "un client s'est évanoui dans le magasin"),
            (R, "il a quel âge"),
            (A, "cinquante-cinq cinquante-six je sais pas trop"),
        )
        == "55 ans"
    )


# ---------------------------------------------------------------------------------------------
# caller type once the patient takes the phone


def test_caller_type_is_settled_before_the_patient_takes_the_phone():
    f = form(
        (R, "samu bonjour"),
        (A, "c'est ma maman elle a la tête qui tourne elle est assise par terre"),
        (R, "est-ce que je peux lui parler"),
        (A, "oui maman le docteur veut te parler"),
        (T, "allô oui"),
        (R, "vous avez mal quelque part vous avez vomi vous avez mangé"),
        (T, "non j'ai pas mal je me sens juste faible"),
    ).values()
    assert f.get("caller.type") == "FAMILLE"


# ---------------------------------------------------------------------------------------------
# decisions


def test_a_dispatch_promised_in_the_future_tense_is_not_the_decision():
    f = form(
        (R, "samu bonjour"),
        (A, "je me suis tordu la cheville en randonnée je peux marcher un peu"),
        (R, "vous descendez doucement et vous allez voir votre médecin aujourd'hui"),
        (A, "d'accord"),
        (R, "si vous ne pouvez plus marcher vous rappelez et on vous enverra les secours"),
    ).values()
    assert f.get("decision.type") == "ORIENT"
    assert f.get("decision.resource") is None


def test_a_prescription_announced_with_je_vais_vous_faire_is_pmt():
    assert (
        value(
            "decision.type",
            (R, "samu bonjour"),
            (A, "j'ai des plaques qui grattent partout depuis le repas"),
            (R, "vous respirez bien"),
            (A, "oui"),
            (R, "je vais vous faire une ordonnance pour un antihistaminique à la pharmacie de garde"),
        )
        == "PMT"
    )


# ---------------------------------------------------------------------------------------------
# third round: intoxications (withdrawal, street-drug slang, self-poisoning), falls from a height,
# crushing against an object, digits gone


def test_withdrawal_from_a_substitution_treatment_is_an_intoxication_and_withdrawal():
    assert (
        motif(
            (R, "samu bonsoir"),
            (A, "bonsoir je suis sous subutex et j'ai plus rien depuis deux jours je suis en manque"),
            (R, "qu'est-ce que vous ressentez"),
            (A, "je sue j'ai mal partout au ventre et j'ai la diarrhée"),
        )
        == "M04.01"
    )


def test_stopping_alcohol_abruptly_is_withdrawal_not_a_seizure():
    assert (
        motif(
            (R, "samu j'écoute"),
            (A, "c'est pour moi j'ai stoppé l'alcool d'un coup lundi et là je tremble de partout"),
            (R, "vous buviez combien"),
            (A, "deux bouteilles de vin par jour à peu près"),
        )
        == "M04.01"
    )


def test_party_drug_slang_with_drowsiness_is_a_voluntary_intoxication():
    assert (
        motif(
            (R, "samu bonsoir"),
            (A, "ma copine elle se réveille plus elle a pris des taz à la soirée"),
            (R, "elle a bu de l'alcool aussi"),
            (A, "oui des bières"),
        )
        == "M04.01"
    )


def test_empty_box_of_a_named_drug_is_a_voluntary_intoxication():
    assert (
        motif(
            (R, "samu j'écoute"),
            (A, "mon frère dort dans sa chambre il y a une boîte de lexomil vide sur la table"),
            (R, "il vous répond"),
            (A, "il parle tout doucement"),
        )
        == "M04.01"
    )


def test_fall_from_a_height_with_two_gravity_signs_is_a_grave_trauma():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "un ouvrier est tombé de l'échafaudage il est par terre"),
            (R, "de quelle hauteur"),
            (A, "cinq mètres à peu près il saigne de l'oreille et il dit n'importe quoi"),
        )
        == "M02.08"
    )


def test_a_fall_on_the_stairs_without_height_stays_minor():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma fille est tombée dans l'escalier elle s'est tordu la cheville"),
            (R, "elle peut marcher"),
            (A, "un peu en boitant"),
        )
        == "M02.06"
    )


def test_pinned_against_a_post_by_a_vehicle_is_a_crushing():
    assert (
        motif(
            (R, "samu j'écoute"),
            (A, "le chariot a coincé mon collègue contre le mur de l'entrepôt il a mal au thorax"),
            (R, "il respire"),
            (A, "oui il respire vite"),
        )
        == "M02.10"
    )


def test_fingers_said_to_be_gone_are_an_amputation():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "mon voisin s'est blessé avec la tronçonneuse deux doigts ils sont partis"),
            (R, "ça saigne"),
            (A, "on a serré un torchon dessus"),
        )
        == "M02.09"
    )


def test_a_cut_finger_that_bleeds_is_not_an_amputation():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "je me suis coupé le doigt en épluchant des légumes ça saigne un peu"),
            (R, "c'est profond"),
            (A, "non une petite coupure"),
        )
        != "M02.09"
    )
