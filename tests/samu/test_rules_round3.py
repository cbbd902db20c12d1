"""Rule extractor, round 3 by class: each test is a short dialogue written for its class (new
wording, speech style, no punctuation), with a negative that must not trigger the class."""

from __future__ import annotations

import datetime

from tests.samu.dialogue import A, R, rules_form

DAY = datetime.date(2026, 6, 2)


def value(field: str, *turns: tuple[str, str]) -> str | None:
    return rules_form(*turns, day=DAY).values().get(field)


# ---------------------------------------------------------------------------------------------
# a telecare operator calling for a subscriber has no professional code of its own: AUTRE


def test_telecare_operator_at_work_is_autre():
    assert (
        value(
            "caller.type",
            (R, "samu j'écoute"),
            (A, "bonsoir service de téléalarme je suis opérateur un de nos adhérents a appuyé sur son bip"),
            (R, "qu'est-ce qu'il dit"),
            (A, "il dit qu'il a glissé dans la salle de bain et qu'il a mal à la hanche il est par terre"),
            (R, "on envoie les pompiers pour le relever"),
        )
        == "AUTRE"
    )


def test_a_daughter_mentioning_the_pendant_stays_family():
    # the negative: the telecare pendant named by a relative, not a telecare service calling
    assert (
        value(
            "caller.type",
            (R, "samu j'écoute"),
            (
                A,
                "c'est pour ma mère elle a appuyé sur sa téléalarme elle est par terre dans la salle de bain",
            ),
            (R, "elle a mal quelque part"),
            (A, "elle a mal à la hanche elle arrive pas à se relever"),
            (R, "on envoie les pompiers pour la relever"),
        )
        == "FAMILLE"
    )


def test_bathing_lifeguard_is_a_first_aider():
    assert (
        value(
            "caller.type",
            (R, "samu bonjour"),
            (
                A,
                "oui je suis la surveillante de baignade du lac on a sorti un gamin de l'eau il tousse beaucoup",
            ),
            (R, "il respire bien"),
            (A, "il respire oui il pleure"),
            (R, "je vous envoie les pompiers"),
        )
        == "SECOUR"
    )


# ---------------------------------------------------------------------------------------------
# a private ambulance company introducing itself by its name ("les ambulances de ... on ...")


def test_ambulance_company_crew_is_ambulanc():
    assert (
        value(
            "caller.type",
            (R, "samu bonjour"),
            (
                A,
                "bonjour ici les ambulances de la côte nous avons une patiente qui saigne du nez depuis une heure",
            ),
            (R, "elle a un traitement"),
            (A, "oui un anticoagulant"),
            (R, "vous comprimez et vous l'amenez aux urgences"),
        )
        == "AMBULANC"
    )


def test_an_ambulance_waited_for_by_a_son_stays_family():
    # the negative: a relative speaking of the ambulances he called, not a crew
    assert (
        value(
            "caller.type",
            (R, "samu bonjour"),
            (A, "c'est pour mon père il saigne du nez depuis une heure les ambulances on les a pas appelées"),
            (R, "il a un traitement"),
            (A, "oui un anticoagulant"),
            (R, "vous comprimez et vous l'amenez aux urgences"),
        )
        == "FAMILLE"
    )


# ---------------------------------------------------------------------------------------------
# PASPLUS: a crew is already there and the regulator engages nothing more


def pasplus_call(last: str) -> tuple[tuple[str, str], ...]:
    return (
        (R, "samu j'écoute"),
        (A, "il y a un cycliste qui est tombé devant la boulangerie il saigne de la tête"),
        (R, "il est conscient il vous parle"),
        (A, "oui il parle ah attendez les pompiers arrivent là un autre client les a appelés"),
        (R, last),
    )


def test_fire_crew_already_on_site_is_pasplus_p1():
    turns = pasplus_call(
        "parfait ils vont le prendre en charge je ne fais partir personne d'autre merci monsieur"
    )
    form = rules_form(*turns, day=DAY).values()
    assert form.get("decision.type") == "PASPLUS"
    assert form.get("decision.resource") is None
    assert form.get("qualification.priority") == "P1"


def test_fire_crew_still_on_the_way_is_a_dispatch():
    # the negative: the regulator sends the firefighters himself
    turns = pasplus_call("d'accord moi aussi je vous envoie les pompiers restez à côté de lui")
    form = rules_form(*turns, day=DAY).values()
    assert form.get("decision.type") == "INTER"
    assert form.get("decision.resource") == "SIS"


# ---------------------------------------------------------------------------------------------
# a drug prescribed by phone (a dose by weight, "je vous le prescris") is PMT, not advice


def fever_call(last: str) -> tuple[tuple[str, str], ...]:
    return (
        (R, "samu bonsoir"),
        (A, "c'est pour mon fils de deux ans il a de la fièvre depuis ce midi"),
        (R, "il boit il joue"),
        (A, "oui il boit bien il joue un peu il pèse douze kilos"),
        (R, last),
    )


def test_a_dose_by_weight_is_a_phone_prescription():
    turns = fever_call(
        "alors vous lui donnez la dose poids à douze kilos et vous la redonnez toutes les six heures "
        "et demain vous prenez rendez-vous chez le pédiatre"
    )
    form = rules_form(*turns, day=DAY).values()
    assert form.get("decision.type") == "PMT"
    assert form.get("qualification.priority") == "P3"


def test_a_consultation_without_a_drug_stays_an_orientation():
    # the negative: the same call sent to the GP, no drug or dose
    turns = fever_call(
        "alors vous le découvrez vous le faites boire et vous l'emmenez voir le pédiatre ce soir"
    )
    assert rules_form(*turns, day=DAY).values().get("decision.type") == "ORIENT"


def test_going_on_with_a_drug_at_its_interval_is_not_a_prescription():
    # the negative: the usual paracetamol kept at its interval is advice, not a PMT
    turns = fever_call(
        "vous continuez son paracétamol toutes les six heures vous le découvrez et vous rappelez si ça monte"
    )
    assert rules_form(*turns, day=DAY).values().get("decision.type") != "PMT"


# ---------------------------------------------------------------------------------------------
# a friend in slang ("mon pote") is a proche (FAMILLE); a road-accident witness is TIERS


def test_a_mate_in_slang_is_a_proche():
    assert (
        value(
            "caller.type",
            (R, "samu bonsoir"),
            (A, "ouais allô faut venir mon pote il a avalé un truc à la fête il répond plus"),
            (R, "il respire"),
            (A, "ouais il respire fort"),
            (R, "je vous envoie les pompiers"),
        )
        == "FAMILLE"
    )


def test_a_mate_who_drives_the_caller_does_not_make_a_proche():
    # the negative: the caller is the patient; the mate is only the driver
    assert (
        value(
            "caller.type",
            (R, "samu bonsoir"),
            (A, "oui bonsoir c'est pour moi je me suis ouvert le genou sur du verre"),
            (R, "ça saigne beaucoup"),
            (A, "non ça saigne plus mon pote peut me conduire"),
            (R, "vous allez aux urgences ce soir"),
        )
        == "SUJET"
    )


def test_a_road_accident_witness_is_tiers():
    assert (
        value(
            "caller.type",
            (R, "samu bonjour"),
            (A, "allô y a eu un accident là une camionnette a renversé un vélo le jeune il bouge pas"),
            (R, "il respire"),
            (A, "oui il respire il gémit"),
            (R, "je vous envoie les pompiers"),
        )
        == "TIERS"
    )


# ---------------------------------------------------------------------------------------------
# a crew that came earlier ("les pompiers sont passés") is not the resource sent now


def death_call(middle: str) -> tuple[tuple[str, str], ...]:
    return (
        (R, "samu bonjour"),
        (A, "bonjour police municipale on a retrouvé une dame décédée chez elle elle est froide et raide"),
        (R, middle),
        (A, "oui ils ont rien pu faire"),
        (
            R,
            "je vous fais venir le médecin de garde pour le certificat de décès il passera dans l'après-midi",
        ),
    )


def test_firefighters_who_came_earlier_leave_the_on_call_doctor_as_resource():
    form = rules_form(*death_call("d'accord les pompiers sont déjà passés"), day=DAY).values()
    assert form.get("decision.resource") == "LIBERAL"
    assert form.get("qualification.priority") == "P2"


def test_firefighters_sent_now_stay_the_resource():
    # the negative: the regulator sends the firefighters as well
    form = rules_form(*death_call("d'accord je vous envoie aussi les pompiers"), day=DAY).values()
    assert form.get("decision.resource") == "SIS"


# ---------------------------------------------------------------------------------------------
# self-neglect in everyday words (a dirty home, rotten food, a very thin patient) is M05.02


def test_squalor_and_a_very_thin_patient_is_self_neglect():
    assert (
        value(
            "qualification.motif",
            (R, "samu bonjour"),
            (
                A,
                "bonjour je suis son neveu je viens de passer chez mon oncle c'est sale partout il y a de la nourriture pourrie",
            ),
            (R, "il vous parle"),
            (A, "oui il parle mais il est tout maigre et ça sent l'urine dans le salon"),
            (R, "je vous envoie le médecin de garde cet après-midi"),
        )
        == "M05.02"
    )


def test_a_tidy_home_with_a_cough_is_not_self_neglect():
    # the negative: the same visit, a respiratory complaint, no neglect sign
    assert (
        value(
            "qualification.motif",
            (R, "samu bonjour"),
            (
                A,
                "bonjour je suis son neveu je viens de passer chez mon oncle il tousse beaucoup et il est essoufflé",
            ),
            (R, "il vous parle"),
            (A, "oui il parle mais il respire mal quand il marche"),
            (R, "je vous envoie le médecin de garde cet après-midi"),
        )
        != "M05.02"
    )


# ---------------------------------------------------------------------------------------------
# a blistered burn with the face denied ("pas le visage") is M02.05, not a face burn (M02.04)


def burn_call(where: str) -> tuple[tuple[str, str], ...]:
    return (
        (R, "samu bonsoir"),
        (A, "ma femme s'est brûlée avec la casserole d'eau bouillante"),
        (R, "où ça"),
        (A, where),
        (R, "il y a des cloques"),
        (A, "oui trois grosses cloques"),
        (R, "vous refroidissez sous l'eau et elle va voir son médecin demain"),
    )


def test_blistered_burn_with_the_face_denied_is_not_a_face_burn():
    assert value("qualification.motif", *burn_call("sur le bras pas sur le visage heureusement")) == "M02.05"


def test_blistered_burn_of_the_face_stays_a_severe_burn():
    # the negative: the face said as burnt
    assert value("qualification.motif", *burn_call("sur le bras et sur le visage")) == "M02.04"


# ---------------------------------------------------------------------------------------------
# someone sleeping outside and asking for a bed, with no complaint, is a social problem (M05.01)


def test_a_man_sleeping_outside_without_complaint_is_a_social_problem():
    assert (
        value(
            "qualification.motif",
            (R, "samu bonsoir"),
            (
                A,
                "bonsoir y a un jeune devant la gare il dort dehors depuis trois nuits il m'a demandé d'appeler",
            ),
            (R, "il est blessé il est malade"),
            (A, "non il a mal nulle part il a juste froid il sait pas où aller"),
            (R, "vous lui donnez le numéro du cent quinze et vous rappelez s'il ne va pas bien"),
        )
        == "M05.01"
    )


def test_sleeping_outside_with_a_bleeding_wound_is_the_wound():
    # the negative: the same man with an injury is coded by the injury
    assert (
        value(
            "qualification.motif",
            (R, "samu bonsoir"),
            (
                A,
                "bonsoir y a un jeune devant la gare il dort dehors il s'est fait frapper il saigne beaucoup de la tête",
            ),
            (R, "il est conscient"),
            (A, "oui il parle mais il a une grosse plaie au front"),
            (R, "je vous envoie les pompiers"),
        )
        != "M05.01"
    )
