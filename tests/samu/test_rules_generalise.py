"""Rule extractor, failure classes fixed by mechanism: each test is a short dialogue written for it
(new wording, speech style: no capitals, fillers, numbers in words, often no punctuation)."""

from __future__ import annotations

import datetime
import time

import pytest

from samu import extract_form
from samu.rules import extract_rules
from samu.schema import CallForm
from tests.samu.dialogue import A, R, call, rules_form

DAY = datetime.date(2026, 5, 20)


def form(*turns: tuple[str, str], day: datetime.date | None = DAY) -> CallForm:
    return rules_form(*turns, day=day)


def age(*turns: tuple[str, str], day: datetime.date | None = DAY) -> str | None:
    return form(*turns, day=day).values().get("patient.age")


# ---------------------------------------------------------------------------------------------
# ages: numbers broken by fillers, hyphen and space variants


@pytest.mark.parametrize(
    "answer",
    [
        "il a soixante heu treize ans",
        "soixante-treize",
        "soixante treize ans je crois",
        "euh soixante euh treize",
    ],
)
def test_age_number_with_fillers_and_hyphen_variants(answer):
    assert age((R, "samu bonjour il a quel âge votre grand-père"), (A, answer)) == "73 ans"


def test_age_restart_in_the_answer_keeps_the_whole_number():
    a = age((R, "elle a quel âge"), (A, "quatre-vingt heu un quatre-vingt-un ans voilà"))
    assert a == "81 ans"
    # a bare number said on the way loses to the value said with its unit
    assert age((R, "et il a quel âge"), (A, "cinquante euh cinquante-deux ans")) == "52 ans"


# birth years, counted from the call date (year difference)


@pytest.mark.parametrize(
    ("said", "day", "expected"),
    [
        ("elle est née en cinquante-six", datetime.date(2026, 2, 1), "70 ans"),
        ("il est né en dix-neuf cent quatre-vingt-sept", datetime.date(2025, 9, 9), "38 ans"),
        ("d'après sa carte il est de deux mille neuf", datetime.date(2026, 3, 3), "17 ans"),
        ("elle est née le quatre avril quatre-vingt-dix", datetime.date(2026, 6, 6), "36 ans"),
    ],
)
def test_age_from_birth_year_and_call_date(said, day, expected):
    assert (
        age((R, "samu j'écoute"), (A, f"c'est pour ma voisine {said} elle est tombée"), day=day) == expected
    )


def test_age_from_birth_year_answering_the_year_question():
    turns = ((R, "il est né en quelle année"), (A, "en deux mille neuf"))
    assert age(*turns, day=datetime.date(2026, 1, 5)) == "17 ans"
    two_digits = ((R, "vous êtes née en quelle année madame"), (A, "quarante-huit"))
    assert age(*two_digits, day=datetime.date(2026, 1, 5)) == "78 ans"


def test_birth_year_defaults_to_today():
    a = age((R, "bonjour"), (A, "mon père est né en mille neuf cent cinquante il a mal au ventre"), day=None)
    assert a == f"{datetime.date.today().year - 1950} ans"


def test_extract_form_passes_the_call_date():
    t = call((R, "bonjour"), (A, "ma tante est née en quarante elle respire mal"))
    assert extract_form(t, "rules", call_date=datetime.date(2030, 1, 1)).values()["patient.age"] == "90 ans"
    # the llm extractor's rule fallback gets it too (a model that says nothing: the rules' age)
    form = extract_form(t, "llm", llm=lambda prompt, **kw: "{}", call_date=datetime.date(2030, 1, 1))
    assert form.values()["patient.age"] == "90 ans"


# approximate ages and ranges


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("c'est un jeune homme une vingtaine d'années", "20 ans"),
        ("une dame la quarantaine peut-être", "40 ans"),
        ("un monsieur dans les soixante ans", "60 ans"),
        ("je dirais entre trente et quarante ans", "30 ans"),
        ("il doit avoir quarante-cinq cinquante ans", "45 ans"),
    ],
)
def test_approximate_age_gives_the_round_number_or_lower_bound(said, expected):
    assert age((R, "samu bonjour"), (A, f"il y a quelqu'un qui est tombé dans la rue {said}")) == expected


def test_durations_are_not_approximate_ages():
    a = age((R, "samu"), (A, "mon fils a vomi une dizaine de fois depuis ce matin"))
    assert a is None


# ages of other people and of past events


def test_age_at_a_past_event_is_not_the_patients():
    f = form(
        (R, "samu bonjour"),
        (A, "j'ai des palpitations comme quand j'avais vingt ans ça m'avait fait pareil"),
        (R, "à dix-huit ans vous aviez déjà eu ça d'accord et vous avez quel âge maintenant"),
        (A, "cinquante-deux ans"),
    )
    assert f.values()["patient.age"] == "52 ans"


def test_past_event_alone_gives_no_age():
    assert age((R, "samu"), (A, "ma femme elle a fait une crise comme ça quand elle avait seize ans")) is None


def test_other_peoples_ages_are_not_the_patients():
    # the caller's own age when the caller is not the patient
    t = (
        (R, "samu"),
        (A, "c'est mon mari il a très mal au ventre moi j'ai soixante-dix ans je peux pas le porter"),
    )
    assert age(*t) is None
    # the patient's child, and a sibling named by rank
    t2 = ((R, "samu"), (A, "ma sœur elle saigne beaucoup son fils il a cinq ans il pleure"))
    assert age(*t2) is None
    t3 = ((R, "c'est son premier enfant"), (A, "non le premier il a quatre ans là elle a des contractions"))
    assert age(*t3) is None
    # the answer to the age question about the patient wins over someone else named before
    f = form(
        (R, "samu"),
        (A, "c'est le goûter de ma fille elle a huit ans et une copine à elle a les lèvres qui gonflent"),
        (R, "elle a quel âge cette petite"),
        (A, "sept ans je crois"),
    )
    assert f.values()["patient.age"] == "7 ans"


def test_self_correction_keeps_the_corrected_value():
    assert age((R, "elle a quel âge"), (A, "trente-cinq non trente-six elle a trente-six")) == "36 ans"
    assert age((R, "il a quel âge"), (A, "ses copains disent quinze ans euh non seize")) == "16 ans"
    assert (
        age((R, "quel âge"), (A, "deux ans non attendez elle a pas deux ans elle a vingt mois")) == "20 mois"
    )


def test_pregnancy_term_is_not_an_age():
    t = ((R, "vous êtes enceinte de combien"), (A, "huit mois euh trente-six semaines"))
    assert age(*t) is None


# ---------------------------------------------------------------------------------------------
# decisions and resources, and the priority they imply


def decision(*regulator: str) -> tuple[str | None, str | None, str | None, str | None]:
    f = form((A, "bonjour c'est pour mon père il a de la fièvre et il tousse"), *((R, r) for r in regulator))
    v = f.values()
    return (
        v.get("decision.type"),
        v.get("decision.resource"),
        v.get("decision.orientation"),
        v.get("qualification.priority"),
    )


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("je vous envoie sos médecins ils passent dans l'après-midi", ("INTER", "LIBERAL", None, "P2")),
        ("le médecin de garde va passer chez vous ce soir", ("INTER", "LIBERAL", None, "P2")),
        ("je vous envoie une ambulance", ("INTER", "TSU", None, "P1")),
        (
            "je vous envoie une ambulance privée elle sera là d'ici une heure et demie",
            ("INTER", "TSU", None, "P2"),
        ),
        ("j'envoie les pompiers tout de suite", ("INTER", "SIS", None, "P1")),
        ("je déclenche le smur ils partent maintenant", ("INTER", "SMUR", None, "P0")),
        ("rendez-vous aux urgences par vos propres moyens ce soir", ("ORIENT", None, "URGENCES", "P2")),
        ("vous l'emmenez à la maison médicale de garde ce soir", ("ORIENT", None, "CABINET", "P2")),
        ("vous pouvez lui donner du paracétamol et rappelez si ça s'aggrave", ("CONSEIL", None, None, "P3")),
    ],
)
def test_decision_and_resource_lexicon(said, expected):
    assert decision(said) == expected


def test_conditional_orientation_is_advice():
    d = decision("vous le faites boire vous surveillez la fièvre et si ça s'aggrave vous allez aux urgences")
    assert d[0] == "CONSEIL" and d[3] == "P3"


def test_dispatch_with_a_pronoun_takes_the_resource_named_before():
    f = form(
        (A, "mon collègue est tombé de l'échafaudage il saigne de la tête vous appelez les pompiers"),
        (R, "oui c'est moi qui les envoie ne le bougez pas"),
    )
    assert f.values()["decision.resource"] == "SIS"


def test_cpr_instructions_mean_p0_but_conditional_ones_do_not():
    vital = form(
        (A, "il est tombé il respire plus il bouge plus"),
        (R, "vous allez masser vous mettez vos deux mains au milieu de sa poitrine les pompiers arrivent"),
    )
    assert vital.values()["qualification.priority"] == "P0"
    assert vital.values()["qualification.motif"] == "M01.01"
    advice = form(
        (A, "mon fils de dix ans a de la fièvre et il tousse"),
        (R, "je vous envoie les pompiers et s'il arrête de respirer vous commencez le massage cardiaque"),
    )
    assert advice.values()["qualification.priority"] == "P1"


# ---------------------------------------------------------------------------------------------
# caller type


@pytest.mark.parametrize(
    ("opening", "expected"),
    [
        ("bonjour je suis infirmière à domicile je suis chez une patiente qui a de la fièvre", "SANTE"),
        ("bonjour je suis l'aide à domicile de monsieur petit il est tout pâle", "SANTE"),
        ("oui je suis aide-soignante de nuit à la résidence une dame a chuté", "SANTE"),
        ("bonjour je suis le pharmacien de la grand-rue j'ai un client qui fait un malaise", "SANTE"),
        ("bonjour je suis médecin j'ai une patiente au cabinet avec une douleur thoracique", "MED"),
        ("docteur morel médecin généraliste j'ai besoin d'un transport", "MED"),
        ("gendarmerie de saint-flour on a un conducteur qui fait un malaise", "FDO-MILI"),
        ("police municipale on est avec un homme qui saigne de la tête", "FDO-MILI"),
        ("sapeurs-pompiers de riom on est sur place on vous passe un bilan", "POMPIER"),
        ("bonjour je suis secouriste sur le poste de la course on a un coureur au sol", "SECOUR"),
        ("bonjour c'est pour ma voisine du troisième elle est tombée", "TIERS"),
        ("allô mon collègue s'est coupé avec la meuleuse", "TIERS"),
        ("allô il y a un monsieur allongé sur le trottoir devant moi je le connais pas", "TIERS"),
        ("c'est pour ma coloc elle a pris des cachets", "FAMILLE"),
    ],
)
def test_caller_type_from_the_opening(opening, expected):
    f = form((R, "samu bonjour"), (A, opening), (R, "d'accord il respire"), (A, "oui oui"))
    assert f.values()["caller.type"] == expected


def test_family_wins_over_a_professional_title():
    f = form((R, "samu"), (A, "je suis infirmière mais là c'est ma mère elle a fait un malaise"))
    assert f.values()["caller.type"] == "FAMILLE"


def test_caller_who_is_the_patient_despite_relatives_mentioned():
    f = form(
        (R, "samu bonjour"),
        (A, "oui c'est ma femme qui m'a dit d'appeler moi je pensais que c'était rien"),
        (R, "qu'est-ce qui vous arrive monsieur"),
        (A, "j'ai une douleur dans la poitrine depuis une heure"),
        (R, "vous transpirez vous avez mal dans le bras"),
        (A, "un peu oui"),
    )
    assert f.values()["caller.type"] == "SUJET"


# ---------------------------------------------------------------------------------------------
# motifs


def motif(*caller: str, regulator: str = "d'accord je vous envoie les pompiers") -> str | None:
    turns = [(R, "samu bonjour")]
    for c in caller:
        turns += [(A, c), (R, "d'accord")]
    turns.append((R, regulator))
    return form(*turns).values().get("qualification.motif")


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (["mon mari il a une bpco il est essoufflé et il crache un peu de fièvre aussi"], "M03.12"),
        (["mon petit il a fait une convulsion il a de la fièvre il tremblait de partout"], "M03.07"),
        (
            ["ma mère est diabétique elle transpire elle se sent pas bien je crois que c'est une hypo"],
            "M03.09",
        ),
        (["ma fille a avalé une pile bouton de la télécommande"], "M04.02"),
        (["mon fils est tombé de son vélo il a le poignet tout déformé"], "M02.07"),
        (["mon fils s'est brûlé la main avec la casserole il a des cloques"], "M02.05"),
        (["mon père a une douleur dans la poitrine ça lui serre comme un étau"], "M03.06"),
        (["ma femme a la bouche de travers et son bras qui tombe elle arrive plus à parler"], "M03.08"),
        (
            ["mon grand-père est par terre dans le salon on arrive pas à le relever il a rien de cassé"],
            "M06.03",
        ),
        (["mon frère a pris toute la boîte de ses médicaments il veut en finir"], "M04.01"),
        (["ma fille dit qu'elle veut mourir elle a des idées noires"], "M03.16"),
        (["ma femme a perdu les eaux elle a des contractions toutes les trois minutes"], "M03.01"),
        (["je suis enceinte de deux mois et je saigne"], "M03.04"),
        (["mon mari a des plaques rouges partout ça gratte c'est une allergie je pense"], "M03.15"),
        (["mon fils a été piqué par une guêpe il a la gorge qui serre il arrive plus à respirer"], "M01.03"),
        (["mon fils de quinze ans a trop bu il a vomi il est à moitié endormi"], "M04.04"),
        (["j'ai le cœur qui bat très vite des palpitations depuis une heure"], "M03.13"),
        (["ma fille saigne du nez depuis vingt minutes"], "M03.18"),
        (["mon collègue s'est coupé le bout du doigt avec la scie il est parti"], "M02.09"),
        (["ma voisine répond pas au téléphone depuis hier ses volets sont fermés"], "M06.04"),
        (["il y a un monsieur dehors il grelotte il est trempé il fait moins cinq degrés"], "M02.03"),
        (["j'ai très mal au ventre en bas à droite et j'ai vomi une fois"], "M03.20"),
        (["j'ai une rage de dents depuis hier soir"], "M03.22"),
    ],
)
def test_motif_classes(caller, expected):
    assert motif(*caller) == expected


def test_hypothetical_signs_in_the_regulators_advice_are_not_findings():
    m = motif(
        "mon fils a une crise d'asthme il a pris sa ventoline ça siffle un peu",
        regulator="le médecin de garde va passer et s'il devient bleu ou s'il arrive plus à parler vous rappelez",
    )
    assert m == "M03.12"


def test_history_answers_do_not_drive_the_motif():
    f = form(
        (R, "samu bonjour"),
        (A, "c'est pour mon père il a mal au ventre depuis ce matin"),
        (R, "il a des antécédents"),
        (A, "il a de la tension et un problème de prostate"),
        (R, "vous l'emmenez aux urgences"),
    )
    assert f.values()["qualification.motif"] == "M03.20"


def test_unpunctuated_regulator_question_denied_by_the_caller_is_not_a_finding():
    f = form(
        (R, "samu bonjour"),
        (A, "bonjour c'est un client il s'est senti partir il est tout pâle"),
        (R, "d'accord il a perdu connaissance il a mal dans la poitrine"),
        (A, "non non il a pas perdu connaissance et il dit qu'il a pas mal"),
        (R, "il faut qu'il voie son médecin aujourd'hui"),
    )
    assert f.values()["qualification.motif"] == "M03.09"


def test_speed():
    turns = [
        (R, "samu bonjour il a quel âge votre père"),
        (A, "soixante heu treize ans il a mal à la poitrine il transpire il est né en cinquante-trois"),
    ] * 60
    t = call(*turns)
    t0 = time.perf_counter()
    extract_rules(t, call_date=DAY)
    assert time.perf_counter() - t0 < 2.0  # 120 turns; calls are ~20-60 turns, < 0.2 s


# ---------------------------------------------------------------------------------------------
# speech: stutters, corrections, the phone handed over


def test_stutters_and_fillers_do_not_break_the_cues():
    f = form(
        (A, "heu mon mon bébé il il respire plus il est tout tout mou"),
        (R, "vous massez je vous guide y a le le médecin qui est en en route"),
    )
    v = f.values()
    assert v["decision.type"] == "INTER" and v["decision.resource"] == "SMUR"  # a doctor sent during CPR
    assert v["qualification.priority"] == "P0"


def test_caller_correcting_the_recap():
    f = form(
        (R, "bonjour vous appelez pour votre collègue c'est ça"),
        (A, "non c'est ma copine c'est pas ma collègue elle a une crise d'asthme"),
    )
    assert f.values()["caller.type"] == "FAMILLE"


def test_caller_type_is_settled_when_the_patient_takes_the_phone():
    f = form(
        (R, "samu bonjour"),
        (A, "c'est pour mon voisin il a mal dans la poitrine depuis ce matin"),
        (R, "passez-le-moi s'il vous plaît"),
        (A, "allô oui"),
        (R, "bonjour monsieur vous avez mal où exactement vous transpirez"),
        (A, "j'ai mal au milieu de la poitrine je me sens pas bien"),
    )
    assert f.values()["caller.type"] == "TIERS"


def test_callback_and_discussion_are_not_decisions():
    d = decision("le médecin va vous rappeler dans un instant", "vous verrez ça avec votre médecin")
    assert d[0] != "INTER" and d[0] != "ORIENT"


def test_certain_death_and_past_death():
    assert motif("mon mari est mort cette nuit dans son lit il était très malade") == "M06.01"
    m = motif("depuis que mon mari est décédé je vis seule et là tout tourne je peux pas me lever")
    assert m == "M03.07"


# ---------------------------------------------------------------------------------------------
# location: the town in context, named places, a town alone is not a findable address


def test_town_from_context_and_named_place():
    f = form(
        (R, "samu bonjour"),
        (
            A,
            "bonjour je suis le pharmacien de la pharmacie des halles à vierzon j'ai une cliente qui fait un malaise",
        ),
    )
    v = f.values()
    assert v["location.city"] == "vierzon" and v["location.address_present"] is True
    g = form(
        (R, "samu"), (A, "on habite à saint-flour ma fille a de la fièvre"), (R, "vous la gardez au frais")
    )
    assert g.values()["location.city"] == "saint-flour"
    assert g.values()["location.address_present"] is False  # a town alone is not findable


def test_verb_a_and_destinations_are_not_towns():
    f = form(
        (R, "samu"),
        (A, "mon fils il a dit qu'il avait mal il a vomi"),
        (R, "vous l'emmenez aux urgences de montargis"),
    )
    assert "location.city" not in f.fields


def test_pain_after_a_fall_is_an_injury():
    assert motif("ma fille est tombée dans l'escalier elle a mal au genou elle arrive à marcher") == "M02.06"
    assert motif("mon fils est tombé du trampoline il a le bras tout déformé") == "M02.07"
