"""Rule extractor, the motif by class: each test is a short dialogue written for its class (new
wording, speech style, no punctuation), with a negative that must not trigger the class."""

from __future__ import annotations

import datetime

from tests.samu.dialogue import A, R, rules_form

DAY = datetime.date(2026, 5, 11)


def motif(*turns: tuple[str, str]) -> str | None:
    return rules_form(*turns, day=DAY).values().get("qualification.motif")


def priority(*turns: tuple[str, str]) -> str | None:
    return rules_form(*turns, day=DAY).values().get("qualification.priority")


# ---------------------------------------------------------------------------------------------
# breathlessness with cramped, tingling hands is a hyperventilation (anxiety) attack, not a distress


def test_breathless_with_cramped_tingling_hands_is_anxiety_tetany():
    assert (
        motif(
            (R, "samu bonsoir"),
            (A, "c'est mon colocataire il peut plus respirer il étouffe complètement"),
            (R, "il vous parle"),
            (A, "oui il parle il dit qu'il a les doigts tout engourdis et ses mains se recroquevillent"),
            (R, "il a des problèmes de santé"),
            (A, "non il vient d'apprendre une mauvaise nouvelle il a beaucoup pleuré"),
            (R, "vous le faites souffler lentement dans ses mains et vous rappelez si ça ne passe pas"),
        )
        == "M03.17"
    )


def test_breathless_without_hand_signs_stays_a_distress():
    # the negative: the same breathlessness, blue lips, no tetany sign
    assert (
        motif(
            (R, "samu bonsoir"),
            (A, "c'est mon colocataire il peut plus respirer il étouffe complètement"),
            (R, "il vous parle"),
            (A, "non il arrive pas à parler ses lèvres sont toutes bleues"),
            (R, "je vous envoie les pompiers tout de suite"),
        )
        == "M01.03"
    )


# ---------------------------------------------------------------------------------------------
# the weather's temperature and heat exposure in everyday words are a heat illness, not a fever


def test_weather_temperature_and_no_hat_make_a_heat_illness_not_a_fever():
    assert (
        motif(
            (R, "samu j'écoute"),
            (A, "mon grand-père il a travaillé dans le potager tout l'après-midi il fait trente-neuf dehors"),
            (R, "qu'est-ce qu'il a"),
            (A, "il est tout brûlant il a pas mis de chapeau et il a vomi deux fois"),
            (R, "vous le mettez au frais je vous envoie un médecin"),
        )
        == "M02.03"
    )


def test_a_body_temperature_stays_a_fever():
    # the negative: the same number said of the patient, no heat exposure
    assert (
        motif(
            (R, "samu j'écoute"),
            (A, "mon grand-père il a trente-neuf depuis hier il tousse et il a des frissons"),
            (R, "vous lui donnez du paracétamol et vous voyez son médecin demain"),
        )
        == "M03.14"
    )


# ---------------------------------------------------------------------------------------------
# blood vomited by the basinful or with shock signs is a haemorrhage; streaks of blood are not


def test_haematemesis_by_the_basinful_with_pallor_is_a_haemorrhage():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma tante elle a vomi du sang deux grosses cuvettes pleines"),
            (R, "elle est consciente"),
            (A, "oui mais elle est blanche comme un linge et elle transpire"),
            (R, "je vous envoie le smur allongez-la sur le côté"),
        )
        == "M03.19"
    )


def test_a_little_blood_in_the_vomit_stays_a_small_bleeding():
    # the negative: blood vomited after repeated vomiting, no amount, no shock sign
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma tante elle a vomi du sang un petit peu après avoir vomi toute la nuit"),
            (R, "elle est consciente"),
            (A, "oui elle parle normalement elle a juste mal au ventre"),
            (R, "vous l'emmenez aux urgences dans la matinée"),
        )
        == "M03.18"
    )


# ---------------------------------------------------------------------------------------------
# a deformed limb in everyday words ("tout de travers", "un angle bizarre") is a serious trauma


def test_a_limb_bent_out_of_shape_is_a_serious_trauma():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "mon fils est tombé du trampoline son avant-bras il est tout de travers"),
            (R, "il a perdu connaissance"),
            (A, "non il pleure il parle bien"),
            (R, "vous l'emmenez aux urgences en tenant le bras contre lui"),
        )
        == "M02.07"
    )


def test_a_twisted_ankle_stays_a_benign_trauma():
    # the negative: a sprain, the ankle "tordue" as the movement, not a deformity
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma fille s'est tordu la cheville en descendant du trottoir elle a une petite bosse"),
            (R, "elle pose le pied par terre"),
            (A, "oui elle marche un peu en boitant"),
            (R, "de la glace et vous voyez son médecin demain"),
        )
        == "M02.06"
    )


# ---------------------------------------------------------------------------------------------
# a chest pain with words in between ("ça me pèse un petit peu sur la poitrine"); denied, it is none


def test_a_chest_weight_said_with_words_in_between_is_a_chest_pain():
    assert (
        motif(
            (R, "samu bonsoir"),
            (A, "bonsoir c'est pour moi ça me pèse un petit peu sur la poitrine depuis le dîner"),
            (R, "vous avez quel âge"),
            (A, "soixante et un ans je fume"),
            (R, "je vous envoie une équipe médicale"),
        )
        == "M03.06"
    )


def test_a_denied_chest_pain_leaves_the_belly_pain():
    # the negative: the chest pain is denied with words in between, the complaint is the belly
    assert (
        motif(
            (R, "samu bonsoir"),
            (A, "bonsoir c'est mon mari il a très mal au ventre depuis le dîner il se tord"),
            (R, "il a mal dans la poitrine"),
            (A, "non il a pas mal du tout dans la poitrine c'est vraiment le ventre"),
            (R, "vous l'emmenez aux urgences"),
        )
        == "M03.20"
    )


# ---------------------------------------------------------------------------------------------
# a loss of consciousness after a blow to the head is a trauma; a plain faint stays a syncope


def test_knocked_out_by_an_object_on_the_head_is_a_serious_trauma():
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma sœur a reçu une étagère sur la tête dans le garage elle a perdu connaissance"),
            (R, "combien de temps"),
            (A, "quelques secondes là elle me parle mais elle se souvient de rien"),
            (R, "je vous envoie les pompiers"),
        )
        == "M02.07"
    )


def test_a_faint_with_eyes_open_afterwards_stays_a_syncope():
    # the negative: "les yeux ouverts maintenant" is no cut hand, and no blow is said
    assert (
        motif(
            (R, "samu bonjour"),
            (A, "ma sœur s'est évanouie à la caisse du supermarché elle a perdu connaissance"),
            (R, "combien de temps"),
            (A, "pas longtemps elle a les yeux ouverts maintenant elle me parle"),
            (R, "je vous envoie les pompiers"),
        )
        == "M03.10"
    )
