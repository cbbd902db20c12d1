"""Rule extractor: the offline default that fills a :class:`CallForm` from a transcript, no model.

Built for speech-style French (no capitals, disfluencies, repetitions, numbers in words):
every pattern runs on accent-folded lower-case text whose offsets map back to the original, so
each value keeps the exact quote it came from. Findings are negation- and hedge-aware ("elle a
pas mal" is the finding *douleur, negated*). Who says what matters: symptoms are taken from the
caller's turns (and the regulator's non-question statements, at lower confidence), decisions from
the regulator's turns.

The cues were written from domain knowledge of SAMU regulation (and the Hub Santé code lists);
the priority follows a fixed rule documented in :func:`infer_priority` and in
``data_cards/samu_forms.md``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from asr.transcript import Transcript
from samu.schema import CallForm, Evidence, FieldValue, Finding
from samu.text import NUMBER, fold, hedged_at, negated_at, parse_number

# ---------------------------------------------------------------------------------------------
# lexicons (accent-folded regexes)

# (finding name, regex, motif code, weight, inherently negative phrase?)
# fmt: off
FINDINGS: list[tuple[str, str, str, float, bool]] = [
    ("arrêt cardio-respiratoire", r"arret cardiaque|arret cardio|massage cardiaque|c(?:oe|œ)ur (s est )?arrete|mort subite", "M01.01", 6, False),
    ("ne respire plus", r"(ne )?respire (plus|pas|presque plus)\b(?! bien| normalement| mal)", "M01.01", 4, True),
    ("pendaison", r"\bpendu(e)?\b|pendaison|s est pendu", "M01.01", 6, False),
    ("inconscience", r"inconscien|(ne )?(me )?repond (plus|pas)|(ne )?reagit (plus|pas)|(ne )?se reveille (plus|pas)|sans connaissance|dans le coma|\bcoma\b|ouvre (plus|pas) les yeux", "M01.02", 4, True),
    ("détresse respiratoire", r"(arrive|peut) (plus|pas) a respirer|etouff|suffoqu|detresse respiratoire|(levres|visage) (toutes? )?bleu|devient bleu", "M01.03", 4, False),
    ("perte de connaissance", r"perdu connaissance|perte de connaissance|evanoui|tombe dans les pommes|s est effondre", "M03.10", 3, False),
    ("gêne respiratoire", r"essouffl|du mal a respirer|respire mal|mal a respirer|genee? pour respirer|pas bien pour respirer|gene respiratoire|crise d asthme|asthme|ventoline|siffle", "M03.12", 3, False),
    ("brûlure", r"brul", "M02.05", 3, False),
    ("plaie par arme", r"couteau|poignard|arme blanche|par balle|arme a feu|coup de feu|tire dessus|\barme\b", "M02.07", 5, False),
    ("plaie", r"\bplaie|coupe(e)? (au|a la|le)|entaille|ouvert(e)? (au|a la)", "M02.06", 1, False),
    ("saignement", r"saign|\bsang\b|hemorrag", "M02.01", 2, False),
    ("vomissement de sang", r"vomi\w* (du |de )?sang|hematemese|crache du sang", "M03.18", 5, False),
    ("accident de la route", r"accident|renverse|percute|scooter|\bmoto\b|\bvelo\b|voiture", "M02.07", 3, False),
    ("chute", r"(est|suis|sont) tombe|chute|par terre|au sol", "M06.03", 2, False),
    ("ne peut pas se relever", r"(arrive|peux|peut|arrivons|arrivent) (pas|plus) a (se |la |le |me |les )?relever|(la|le) relever", "M06.03", 5, True),
    ("coups", r"coups? de (poing|pied|tete|batte|couteau|boule)|des coups|roue de coups|frappe|battu|tabasse|agress", "M02.06", 3, False),
    ("accouchement", r"accouch|perdu les eaux|perte des eaux|poche des eaux|contractions|bebe (arrive|sort)|envie de pousser", "M03.01", 6, False),
    ("grossesse", r"enceinte|grossesse", "M03.02", 1, False),
    ("douleur thoracique", r"(mal|douleurs?) (a |dans )?(la )?poitrine|douleur thoracique|mal au (c(?:oe|œ)ur|thorax)|serre (dans )?la poitrine|oppression", "M03.06", 5, False),
    ("signes d'AVC", r"\bavc\b|paralys|bouche (de travers|tordue)|visage de travers|(arrive|peut) (plus|pas) a parler|parle (bizarrement|plus)|bouge (plus|pas) (son|le|sa|du) (bras|jambe)|hemipleg", "M03.08", 5, True),
    ("convulsions", r"convuls|epilep|crise d epilepsie|tremble de partout", "M03.07", 4, False),
    ("malaise", r"malaise|se sent (pas bien|mal)|me sens (pas bien|mal)|tete qui tourne|vertige", "M03.09", 2, True),
    ("céphalée", r"mal (a|de) (la )?tete|migraine|cephal", "M03.11", 2, False),
    ("fièvre", r"fievre|temperature|\b(38|39|40|41) (degres|de fievre)|\bcovid|grippe", "M03.14", 3, False),
    ("allergie", r"allerg|urticaire|gonfl|(?:oe|œ)deme|piqure|piquee?\b", "M03.15", 3, False),
    ("trouble psychiatrique", r"suicid|se tuer|me tuer|veut mourir|en finir|depress|psychiatr|schizo|bipolaire|delire|entend des voix|se scarifi", "M03.16", 4, False),
    ("tétanie", r"tetanie|spasmophil|hyperventil", "M03.17", 6, False),
    ("agitation, anxiété", r"crise d angoisse|angoiss|panique|fourmill|crispe|agite|agitation", "M03.17", 3, False),
    ("douleur abdominale", r"mal au ventre|douleurs? (au|du|dans le) ventre|douleur abdominale|mal a l estomac|colique", "M03.20", 4, False),
    ("trouble digestif", r"(?<!faire )(?<!fait )vomi|nause|diarrh|constip", "M03.21", 2, False),
    ("douleur", r"\bmal\b|douleur|souffr", "M03.22", 0.5, False),
    ("intoxication médicamenteuse", r"(avale|pris|prise|prendre|bu)\b.{0,40}(medicaments|cachets|comprimes|boite|plaquette|pilules)|surdose|overdose|tentative de suicide|intox", "M04.01", 5, False),
    ("intoxication accidentelle", r"(avale|bu|mange)\b.{0,30}(produit|javel|detergent|champignon|pile)|monoxyde|fuite de gaz", "M04.02", 4, False),
    ("ivresse", r"\bivre|bourre|alcool|trop bu|a bu\b|saoul|alcoolis", "M04.03", 3, False),
    ("décès", r"decede|deces|rigide|raide et froid", "M06.01", 5, False),
    ("mort", r"(il|elle) (est|etait) mort(e)?\b", "M06.01", 2, False),
    ("ne répond pas au téléphone", r"(repond|decroche) (plus|pas) (au|a son|a mes|a nos|a ses) (telephone|appels?|portable)|(repond|decroche) (plus|pas) quand (j|on) (l )?appel", "M06.04", 6, True),
    ("problème social", r"\bsdf\b|sans abri|a la rue\b|sans domicile", "M05.01", 3, False),
    ("demande de conseil", r"(voulais|voudrais|veux) (un |des )?(conseil|renseignement|savoir)|quelle dose|est ce que je peux lui donner", "M06.02", 2, False),
]
# fmt: on
# findings that upgrade a motif when seen together (refinements, not extra symptoms)
# Hub Santé "brûlure grave": face/neck, deep (white/black, painless) or third degree, or very extensive
SEVERE_BURN = r"visage|\bcou\b|troisieme degre|3e degre|carbonis|insensible|tout le corps|voies respiratoires"

RELATIONS_F = r"fille|femme|mere|maman|grand mere|mamie|s(?:oe|œ)ur|belle mere|tante|cousine|niece|petite fille|compagne|copine|voisine|collegue|amie|patiente|dame|epouse|bebe fille"
RELATIONS_M = r"fils|mari|pere|papa|grand pere|papy|frere|beau pere|oncle|cousin|neveu|petit fils|compagnon|copain|voisin|collegue|ami|patient|monsieur|epoux|garcon"
FAMILY = r"fille|fils|femme|mari|mere|maman|pere|papa|grand mere|grand pere|mamie|papy|s(?:oe|œ)ur|frere|belle mere|beau pere|tante|oncle|cousin|cousine|niece|neveu|petite fille|petit fils|compagne|compagnon|copine|copain|epouse|epoux|bebe|enfant|gamin|gamine|petit|petite|conjoint|beau fils|belle fille"
THIRD = r"voisin|voisine|collegue|passant|un monsieur|une dame|un homme|une femme|un jeune|une jeune|quelqu un|inconnu|client|cliente|patron|eleve|ami|amie|pote"
SELF = r"j ai (tres |trop |super )?mal|je me sens|je suis tombe|je me suis|j ai (de la )?fievre|je saigne|j arrive (pas|plus) a respirer|je respire|je vais accoucher|j ai perdu les eaux|je suis enceinte|j ai pris|j ai avale|j ai vomi|je vomis|j ai des douleurs|j ai une douleur|j ai des contractions"
PROFESSION = [
    (
        r"je suis (l |une? )?(infirmi|aide soignant|sage femme|pharmacien|auxiliaire de vie|aide a domicile)",
        "SANTE",
    ),
    (r"je suis (le |la )?(medecin|docteur)\b", "MED"),
    (r"je suis (le |un )?pompier|sapeur pompier", "POMPIER"),
    (r"je suis (le |la |un |une )?(policier|gendarme)|police nationale", "FDO-MILI"),
    (r"je suis (l |un |une )?ambulanci", "AMBULANC"),
]

PANIC = r"\bvite\b|depechez|au secours|je panique|aidez moi|aidez nous|faites quelque chose|s il vous plait|mon dieu|oh la la|je sais pas quoi faire"
HOSTILE = r"putain|merde|connard|connasse|vous (vous )?foutez|n importe quoi|porter plainte|incompetent|vous servez a rien|je m en fous|ta gueule|bordel|vos gueules"
LANGUAGE = r"je parle pas (bien )?francais|parle pas francais|english|no french|comprends pas le francais"

# decision cues in the regulator's turns: (regex, decision, resource, orientation, weight)
DECISIONS: list[tuple[str, str, str | None, str | None, float]] = [
    (
        r"\bsmur\b|equipe (medicale|de reanimation|du samu|du smur)|ambulance de reanimation|(envoie|envoyer|envoyons|declenche|envoye)\b.{0,40}\b(samu|reanimation|medecin du samu|medecin urgentiste)\b|(le |l equipe du )samu (va|vient|arrive)|medecin du samu (va|vient|arrive)|urgentiste",
        "INTER",
        "SMUR",
        None,
        6,
    ),
    (r"pompiers?|(les |des |envoie |envoyer |envoyons )secours\b(?! a personne)", "INTER", "SIS", None, 4),
    (r"\bambulance|ambulancier", "INTER", "TSU", None, 3),
    (
        r"sos medecin|medecin de garde|medecin de permanence|(faire |fais |va |vais )?passer (un|le) medecin|(un |le )?medecin (qui )?(va|vient|viendra|passera|a domicile|chez vous)|envoyer un medecin|envoie un medecin|medecin pour (qu il )?passe|infirmi\w+ (va|passera|viendra)",
        "INTER",
        "LIBERAL",
        None,
        3,
    ),
    (
        r"(aller|allez|aille|ailles|emmenez|emmener|amenez|amener|conduisez|conduire|rendre|rendez vous|presentez vous|passer|direction|transporter|emmene|emmeneront|conduiront|transporteront)\b.{0,35}(urgences|hopital|clinique)",
        "ORIENT",
        None,
        "URGENCES",
        3,
    ),
    (
        r"(consultez|consulter|consulte|voir|voie|voyez|appelez|appeler|prendre rendez vous|rendez vous|contacter|contactez)\b.{0,30}(medecin traitant|un medecin|votre medecin|son medecin|generaliste|pediatre|cabinet|maison medicale|maison de sante|specialiste|psychiatre|sage femme)",
        "ORIENT",
        None,
        "CABINET",
        2,
    ),
    (
        r"(donnez|donner|prenez|prendre|lui donner|administrer|mettez)\b.{0,40}(doliprane|paracetamol|dafalgan|efferalgan|ibuprofene|advil|spasfon|ventoline|smecta|comprime|sirop|suppositoire|bouffees)",
        "PMT",
        None,
        None,
        2,
    ),
    (
        r"rappelez|nous rappeler|rappeler le (15|quinze)|(contacter|appeler|appelez|prevenir|prevenez) la (police|gendarmerie)|surveillez|surveiller|mettez (le|la|l) (sur le cote|en position)|position laterale|allongez|ne (lui )?donnez rien|restez a cote|eau froide|sous l eau|ne bougez pas",
        "CONSEIL",
        None,
        None,
        1,
    ),
]
SAME_DAY = r"dans la journee|aujourd hui|ce soir|cet apres midi|dans l apres midi|maison medicale|des que possible|rapidement|dans les (deux|trois|quatre|2|3|4) heures"
NO_DECISION_NEG = r"\b(pas besoin|pas la peine|pas necessaire|inutile|je n envoie pas|on n envoie pas|j envoie pas|on envoie pas|n est pas necessaire)\b"

HISTORY = r"(il|elle|je|on) (est|suis|a|ai) (diabetique|asthmatique|epileptique|cardiaque|hypertendu|hypertendue|enceinte|dialyse)|antecedent|(a|ai) deja (fait|eu)|opere|cancer|alzheimer|parkinson|insuffisan|bronchite chronique|\bbpco\b|diabete|tension|handicap|schizophren|bipolaire|depressi"
TREATMENT = r"(prend|prends|prenait|sous|traite par|a pris|ai pris)\b.{0,40}(kardegic|doliprane|paracetamol|insuline|ventoline|anticoagulant|traitement|medicaments?|cachets?|comprimes?|antidepresseur|anxiolytique|xanax|lexomil|seresta|temesta|lysanxia|levothyrox|previscan|xarelto|eliquis|aspirine)"
_WAY = r"(?:rue|avenue|boulevard|bd|allee|impasse|quai|square|lotissement|residence|hameau|lieu dit|chemin|place|route|cours|cite)"
# a way with a house number ("12 rue ..."), or a named way ("rue de la paix", "avenue jean jaures")
ADDRESS = (
    rf"\b{NUMBER}\s+(?:bis\s+|ter\s+)?{_WAY}\b(?:\s+[a-z0-9]+){{1,5}}"
    rf"|\b(?<!la )(?<!une )(?<!sur )(?<!en )(?<!de )(?<!dans )(?<!meme )(?<!grande )(?:rue|avenue|boulevard|allee|impasse|residence|lotissement)\s+"
    r"(?:de la|de l|des|du|de|d|jean|victor|general|marechal|president|saint|sainte|charles|louis|jules|paul|pierre)\s+[a-z0-9]+(?:\s+[a-z0-9]+){0,3}"
)
ACCESS = (
    rf"\b{NUMBER}\s*(?:e|eme|ieme|er|ere)?\s+etage|rez de chaussee|digicode|interphone|code (?:de la porte|d entree|porte)?\s*[a-z0-9]+|"
    r"batiment\s+[a-z0-9]+|escalier\s+[a-z0-9]+|porte\s+(?:gauche|droite|[a-z0-9]{1,3}\b)"
)
CITY_QUESTION = r"\b(ville|commune|ou (est ce que )?(vous etes|vous habitez|ca se passe|il est|elle est|se trouve)|vous etes ou|c est ou|adresse|quel endroit|ou ca)\b"
CITY_ANSWER = r"(?<!il )(?<!elle )(?<!on )(?<!qui )(?<!ca )(?<!y )\b(?:a|sur|dans|vers|commune de|ville de)\s+((?:saint|sainte|st|le|la|les)?\s?[a-z]{3,}(?:\s(?:sur|sous|en|les|le|la|de|du)\s[a-z]{3,})?)"
CITY_STOP = {
    "la", "le", "les", "domicile", "maison", "cote", "ecole", "hopital", "urgences", "pied", "terre", "moi", "lui",
    "elle", "vous", "nous", "eux", "travail", "rue", "avenue", "boulevard", "droite", "gauche", "peu", "part", "cause",
    "peine", "chaque", "tout", "cette", "quoi", "quel", "quelle", "cuisine", "salle", "chambre", "etage", "niveau",
    "bout", "coup", "fond", "table", "lit", "bras", "jambe", "tete", "cou", "dos", "ventre", "sol", "rien", "present",
    "priori", "mon", "ma", "mes", "son", "sa", "ses", "notre", "votre", "leur", "des", "une", "un", "deux",
    "trois", "quatre", "cinq", "nouveau", "partir", "regarder", "faire", "voir", "dire", "respirer",
}  # fmt: skip


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleOptions:
    """Rule extractor settings.

    Attributes:
        min_finding_confidence: findings below this are dropped from the form.
        regulator_statements: also take findings from the regulator's non-question turns.
    """

    min_finding_confidence: float = 0.3
    regulator_statements: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_finding_confidence <= 1.0:
            raise ValueError(f"min_finding_confidence must be in [0, 1], got {self.min_finding_confidence}")


@dataclass
class _Seg:
    index: int
    speaker: str | None
    text: str
    folded: str
    start: float
    end: float
    is_regulator: bool | None  # None: unknown

    def ev(self, a: int, b: int) -> Evidence:
        return Evidence(self.index, self.text[a:b].strip(), self.speaker, self.start, self.end)

    @property
    def is_question(self) -> bool:
        f = self.folded.strip()
        return (
            f.endswith("?") or f.startswith(("est ce que", "est ce qu", "vous ", "il ", "elle ")) and "?" in f
        )


def regulator_speakers(t: Transcript) -> set[str] | None:
    """The regulator's speaker label(s): from ``t.roles``, from simsamu's ``medecin`` name, or
    guessed with :func:`asr.roles.assign_roles`. ``None`` when there is a single speaker."""
    speakers = {s.speaker for s in t.segments if s.speaker}
    if len(speakers) < 2:
        return None
    if t.roles:
        reg = {s for s, r in t.roles.items() if r == "regulateur"}
        if reg:
            return reg
    named = {s for s in speakers if s.lower() in ("medecin", "regulateur", "médecin", "arm")}
    if named:
        return named
    from asr.roles import assign_roles

    return {s for s, r in assign_roles(t).items() if r == "regulateur"}


def _segments(t: Transcript) -> list[_Seg]:
    reg = regulator_speakers(t)
    out = []
    for i, s in enumerate(t.segments):
        if not s.text.strip():
            continue
        isreg = None if reg is None else (s.speaker in reg)
        text = unicodedata.normalize("NFC", s.text)
        out.append(_Seg(i, s.speaker, text, fold(text), s.start, s.end, isreg))
    return out


def _caller_side(segs: list[_Seg], opts: RuleOptions) -> list[tuple[_Seg, float]]:
    """Segments whose statements describe the patient, with a confidence weight."""
    out = []
    for i, s in enumerate(segs):
        if s.is_regulator is None or not s.is_regulator:
            out.append((s, 1.0))
        elif not s.is_question:
            if opts.regulator_statements:
                out.append((s, 0.6))
        elif i < 6 and re.search(
            r"vous (m )?appelez|c est (bien )?(ca|cela)|si j ai bien compris|on m a dit", s.folded
        ):
            # the regulator's opening reformulation of what the call-taker reported
            out.append((s, 0.9))
        else:
            # a reformulation the caller confirms ("votre mère a mal à la poitrine, c'est ça ?" "oui")
            nxt = next((n for n in segs[i + 1 : i + 3] if not n.is_regulator), None)
            if nxt is not None and re.match(
                r"\s*(heu\s+|hum\s+)*(oui|ouais|c est ca|exactement|voila|tout a fait)\b", nxt.folded
            ):
                out.append((s, 0.8))
    return out


def _overlapped_by_heavier(spans: list[tuple]) -> list[bool]:
    """For spans sorted by start ``(start, end, _, _, weight, _)``: is each one overlapped by a
    heavier span? A sweep over the spans still open keeps this near linear."""
    out = [False] * len(spans)
    active: list[int] = []
    for k, (a, _b, *_rest) in enumerate(spans):
        active = [j for j in active if spans[j][1] > a]
        for j in active:
            if spans[j][4] > spans[k][4]:
                out[k] = True
            elif spans[k][4] > spans[j][4]:
                out[j] = True
        active.append(k)
    return out


def _findings(
    segs: list[_Seg], opts: RuleOptions
) -> list[tuple[str, str, float, bool, bool, Evidence, float]]:
    """(name, motif, weight, negated, hedged, evidence, confidence) for every finding mention.

    Within a segment, a mention overlapped by a heavier one is dropped ("vomi du sang" is not
    also "vomi")."""
    hits = []
    for s, w in _caller_side(segs, opts):
        local = []
        for name, pat, motif, weight, inherent in FINDINGS:
            for m in re.finditer(pat, s.folded):
                local.append((m.start(), m.end(), name, motif, weight, inherent))
        local.sort()
        heavier = _overlapped_by_heavier(local)
        for k, (a, b, name, motif, weight, inherent) in enumerate(local):
            if heavier[k]:
                continue
            # a phrase that is itself negative ("ne répond plus") is a positive sign; a plain one
            # ("inconscient", "malaise") is negated by its context ("il est pas inconscient")
            neg = (
                False
                if inherent and re.search(r"\b(pas|plus)\b", s.folded[a:b])
                else negated_at(s.folded, a, b)
            )
            hed = hedged_at(s.folded, a, b)
            conf = w * (0.6 if hed else 1.0)
            hits.append((name, motif, weight, neg, hed, s.ev(a, b), conf))
    return hits


def _pick_motif(hits, segs: list[_Seg], child: bool = False) -> FieldValue | None:
    score: dict[str, float] = {}
    ev: dict[str, list[Evidence]] = {}
    seen: dict[str, int] = {}
    for name, motif, weight, neg, _hed, e, conf in hits:
        if neg:
            continue
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 3:  # repetition is not severity: at most three mentions count
            continue
        score[motif] = score.get(motif, 0.0) + weight * conf
        ev.setdefault(motif, []).append(e)
    if not score:
        return None
    # a severe burn is a burn with extent/face/blister cues
    if "M02.05" in score:
        text = " ".join(s.folded for s in segs if not s.is_regulator or s.is_regulator is None)
        if re.search(SEVERE_BURN, text):
            score["M02.04"] = score.pop("M02.05") + 1
            ev["M02.04"] = ev.pop("M02.05")
    if "M04.01" in score and child:
        score["M04.02"] = score.pop("M04.01") + score.get("M04.02", 0.0)
        ev["M04.02"] = ev.pop("M04.01") + ev.get("M04.02", [])
    if len(score) > 1:
        score.pop("M03.22", None)  # "autre douleur" only when nothing more specific is said
    best = max(score, key=lambda k: (score[k], k))
    total = sum(score.values())
    return FieldValue(best, tuple(ev[best][:3]), min(1.0, score[best] / total + 0.2))


AGE_MENTION = re.compile(rf"\b({NUMBER})\s+(ans|an|mois|semaines?|jours?)\b")


def age_mentions(s: _Seg):
    """Every "<number> <unit>" of a segment as ``(match, n, unit)``, the unit written the way form
    ages are (``ans``, ``mois``, ``jours``: weeks become days, as Hub Santé ages are in years,
    months or days). Numbers in words are parsed; unparsable ones are skipped."""
    for m in AGE_MENTION.finditer(s.folded):
        n = parse_number(m.group(1))
        if n is None:
            continue
        unit = {"an": "ans", "semaine": "semaines", "jour": "jours"}.get(m.group(2), m.group(2))
        if unit == "semaines":
            n, unit = n * 7, "jours"
        yield m, n, unit


def _age(segs: list[_Seg]) -> FieldValue | None:
    good_ctx = re.compile(
        r"(\bde|\ba|\bai|agee?s? de|fille de|fils de|enfant de|bebe de|garcon de|dame de|monsieur de|homme de|"
        r"femme de|\bage|\bfait|\bfete ses|\bvers|environ|\bla)\s*$"
    )
    bad_ctx = re.compile(
        r"(depuis|il y a|ca fait|y a|pendant|dans|pour|tous les|toutes les|chaque|apres|avant|fois)\s*$"
    )
    cands = []
    for s in segs:
        for m, n, unit in age_mentions(s):
            left = re.sub(r"\b(heu|euh|hum|ben|bah)\b", " ", s.folded[max(0, m.start() - 30) : m.start()])
            left = re.sub(r"\s+", " ", left)
            if bad_ctx.search(left) or "depuis" in left.split()[-4:]:
                continue
            if unit == "ans" and not 0 < n <= 115 or unit == "mois" and not 0 < n <= 36:
                continue
            good = bool(good_ctx.search(left))
            if unit == "jours" and not good:
                continue
            cands.append((good, s.index, n, unit, s.ev(m.start(), m.end())))
    if not cands:
        return None
    best = next((c for c in cands if c[0]), cands[0])
    same = [c[4] for c in cands if (c[2], c[3]) == (best[2], best[3])]
    conf = 0.9 if best[0] else 0.6
    if len(same) > 1:
        conf = min(1.0, conf + 0.1)
    return FieldValue(f"{best[2]} {best[3]}", tuple(same[:3]), conf)


def _sex(segs: list[_Seg], caller_type: str | None) -> FieldValue | None:
    f_rel = re.compile(rf"\b(ma|votre|sa|ta|une|la|cette)\s+(?:petite\s+)?({RELATIONS_F})\b")
    m_rel = re.compile(rf"\b(mon|votre|son|ton|un|le|ce)\s+(?:petit\s+)?({RELATIONS_M})\b")
    score = {"F": 0.0, "M": 0.0}
    ev: dict[str, list[Evidence]] = {"F": [], "M": []}
    for s in segs:
        for sex, pat in (("F", f_rel), ("M", m_rel)):
            for m in pat.finditer(s.folded):
                w = 3.0
                if m.group(2) in ("monsieur", "dame", "patient", "patiente") and s.is_regulator:
                    w = 0.5  # the regulator addressing the caller
                elif caller_type == "SUJET" and m.group(1) in ("ma", "mon", "votre"):
                    w = 0.5  # the caller is the patient: "mon fils" is someone else
                score[sex] += w
                ev[sex].append(s.ev(m.start(), m.end()))
        if caller_type == "SUJET":
            if s.is_regulator:
                for m in re.finditer(r"\bmadame\b", s.folded):
                    score["F"] += 2
                    ev["F"].append(s.ev(m.start(), m.end()))
                for m in re.finditer(r"\bmonsieur\b", s.folded):
                    score["M"] += 2
                    ev["M"].append(s.ev(m.start(), m.end()))
            else:
                for m in re.finditer(r"\bje suis \w+ee?\b", s.folded):
                    w = m.group(0)
                    if w.endswith("ee"):
                        score["F"] += 1.5
                        ev["F"].append(s.ev(m.start(), m.end()))
        # pronouns as subject of a clinical verb
        for m in re.finditer(
            r"\b(elle|il)\s+(?:ne\s+|n\s+)?(a|est|respire|saigne|bouge|parle|repond|reagit|vomit|tousse|se plaint|pleure|dort|marche|s est)\b",
            s.folded,
        ):
            sex = "F" if m.group(1) == "elle" else "M"
            score[sex] += 0.4
            if len(ev[sex]) < 6:
                ev[sex].append(s.ev(m.start(), m.end()))
    for s in segs:
        for m in re.finditer(r"enceinte|accouch|contractions|perdu les eaux|grossesse", s.folded):
            score["F"] += 5  # pregnancy: the patient is a woman
            ev["F"].insert(0, s.ev(m.start(), m.end()))
    if max(score.values()) < 1.0:
        return None
    best = max(score, key=score.get)
    other = "M" if best == "F" else "F"
    if score[best] < 1.5 * score[other]:
        return None
    conf = min(1.0, 0.5 + (score[best] - score[other]) / (score[best] + 1e-9) / 2)
    return FieldValue(best, tuple(ev[best][:3]), conf)


def _caller_type(segs: list[_Seg]) -> FieldValue | None:
    score: dict[str, float] = {}
    ev: dict[str, list[Evidence]] = {}

    def add(code, w, e):
        score[code] = score.get(code, 0.0) + w
        ev.setdefault(code, []).append(e)

    fam = re.compile(rf"\b(ma|mon|mes|notre|nos)\s+(?:petite?\s+)?({FAMILY})\b")
    fam_reg = re.compile(rf"\b(votre|vos)\s+(?:petite?\s+)?({FAMILY})\b")
    third = re.compile(rf"\b(ma|mon|un|une)\s+({THIRD})\b")
    selfp = re.compile(rf"\b({SELF})\b")
    for s in segs:
        caller_turn = not s.is_regulator
        for code_pat, code in PROFESSION:
            if caller_turn:
                for m in re.finditer(code_pat, s.folded):
                    add(code, 4, s.ev(m.start(), m.end()))
        reg_self = re.compile(
            r"\bvous (etes enceinte|avez (tres )?mal|avez des (contractions|douleurs)|avez de la fievre|vous etes (fait|brule|coupe|blesse))"
        )
        pats = (
            [(fam, "FAMILLE", 2), (third, "TIERS", 2), (selfp, "SUJET", 1.5)]
            if caller_turn
            else [(fam_reg, "FAMILLE", 1.5), (reg_self, "SUJET", 2)]
        )
        for pat, code, w in pats:
            for m in pat.finditer(s.folded):
                if code == "TIERS" and m.group(2) in ("ami", "amie", "pote"):
                    w2 = 1.0
                else:
                    w2 = w
                add(code, w2, s.ev(m.start(), m.end()))
    if not score:
        return None
    best = max(score, key=lambda k: (score[k], k == "FAMILLE"))
    conf = min(1.0, score[best] / sum(score.values()) + 0.1)
    return FieldValue(best, tuple(ev[best][:3]), conf)


def _communication(segs: list[_Seg]) -> FieldValue | None:
    res = []
    for code, pat, need in (("LANGUE", LANGUAGE, 1), ("HOSTILE", HOSTILE, 2), ("PANIQUE", PANIC, 3)):
        ev = []
        for s in segs:
            if s.is_regulator:
                continue
            for m in re.finditer(pat, s.folded):
                ev.append(s.ev(m.start(), m.end()))
        if len(ev) >= need:
            res.append((code, ev, len(ev) / need))
    if not res:
        return None
    code, ev, strength = res[0]
    return FieldValue(code, tuple(ev[:3]), min(1.0, 0.4 + 0.2 * strength))


def decision_cues(segs: list[_Seg]) -> list[tuple[str, str | None, str | None, float, Evidence, int]]:
    """Decision cues in the regulator's statements: (decision, resource, orientation, weight,
    evidence, segment index). Denied ("je n'envoie pas le SMUR") and asked ("vous avez appelé les
    pompiers ?") decisions are left out."""
    reg = [s for s in segs if s.is_regulator or s.is_regulator is None]
    found: list[tuple[str, str | None, str | None, float, Evidence, int]] = []
    for s in reg:
        for pat, dec, res, orient, w in DECISIONS:
            for m in re.finditer(pat, s.folded):
                left = s.folded[max(0, m.start() - 40) : m.start()]
                if re.search(NO_DECISION_NEG, left) or negated_at(
                    s.folded, m.start(), m.end(), before=3, after=0
                ):
                    continue
                if s.is_question and dec != "CONSEIL":
                    continue  # "vous avez appelé les pompiers ?" is not a decision
                found.append((dec, res, orient, w, s.ev(m.start(), m.end()), s.index))
    return found


def _decision(segs: list[_Seg]) -> tuple[FieldValue | None, FieldValue | None, FieldValue | None]:
    found = decision_cues(segs)
    if not found:
        return None, None, None
    order = {"INTER": 3, "ORIENT": 2, "PMT": 1, "CONSEIL": 0}
    by_dec: dict[str, float] = {}
    for dec, _res, _o, w, _e, _i in found:
        by_dec[dec] = by_dec.get(dec, 0.0) + w
    dec = max(by_dec, key=lambda d: (order[d] if by_dec[d] >= 2 or d == "CONSEIL" else -1, by_dec[d]))
    if dec == "INTER" and "ORIENT" in by_dec and not any(f[1] == "SMUR" for f in found):
        # the decision can change during the call: the later of dispatch and orientation wins
        last = {d: max(f[5] for f in found if f[0] == d) for d in ("INTER", "ORIENT")}
        n_orient = sum(1 for f in found if f[0] == "ORIENT")
        if last["ORIENT"] > last["INTER"] and n_orient >= 2:
            dec = "ORIENT"
    ev = tuple(f[4] for f in found if f[0] == dec)[:3]
    decision = FieldValue(dec, ev, min(1.0, 0.5 + by_dec[dec] / 10))
    resource = None
    if dec == "INTER":
        res_score: dict[str, float] = {}
        for d, res, _o, w, _e, _i in found:
            if d == "INTER" and res:
                res_score[res] = res_score.get(res, 0.0) + w
        r = max(
            res_score,
            key=lambda k: (res_score[k] >= 4, {"SMUR": 3, "SIS": 2, "TSU": 1}.get(k, 0), res_score[k]),
        )
        resource = FieldValue(
            r, tuple(f[4] for f in found if f[1] == r)[:3], min(1.0, 0.5 + res_score[r] / 12)
        )
    orientation = None
    ors = [f for f in found if f[2]]
    if ors:
        o = max({f[2] for f in ors}, key=lambda k: sum(f[3] for f in ors if f[2] == k))
        orientation = FieldValue(o, tuple(f[4] for f in ors if f[2] == o)[:3], 0.7)
    return decision, resource, orientation


def infer_priority(
    decision: str | None, resource: str | None, motif: str | None, orientation: str | None = None
) -> str | None:
    """The regulation priority implied by the decision (rule shared with the annotation guide):
    SMUR sent or a suspected cardiac/respiratory arrest (M01.01) → P0; firefighters or ambulance sent → P1;
    a doctor sent, or the patient directed to an emergency department → P2; advice, a telephone
    prescription or a consultation with a doctor → P3; no decision at all → P2."""
    if resource == "SMUR" or motif == "M01.01":
        return "P0"
    if decision == "INTER" and resource in ("SIS", "TSU", "AASC", "HOSPIT"):
        return "P1"
    if decision == "ORIENT" and orientation == "CABINET":
        return "P3"
    if decision == "INTER" or decision == "ORIENT":
        return "P2"
    if decision in ("CONSEIL", "PMT"):
        return "P3"
    return "P2"  # no decision announced and no vital motif: same-day regulation by default


def priority_field(
    segs: list[_Seg],
    dec: FieldValue | None,
    res: FieldValue | None,
    motif: FieldValue | None,
    orient: FieldValue | None,
) -> FieldValue | None:
    """The priority field from the decision fields (:func:`infer_priority`), with the guide's
    same-day rule: a consultation the same day is P2, "within days" stays P3. Evidence: the
    decision (or motif) it follows from."""
    src = res or dec or motif
    if src is None:
        return None
    prio = infer_priority(
        dec.value if dec else None,
        res.value if res and dec and dec.value == "INTER" else None,
        motif.value if motif else None,
        orient.value if orient else None,
    )
    evs = tuple(src.evidence[:2])
    if prio == "P3" and dec and dec.value == "ORIENT":
        same_day = _first(segs, SAME_DAY, caller_only=False, limit=1)
        if same_day and same_day[0][0].is_regulator is not False:
            prio = "P2"
            evs = evs + (same_day[0][0].ev(same_day[0][1].start(), same_day[0][1].end()),)
    return FieldValue(prio, evs, 0.6, src.source) if prio else None


def _first(
    segs: list[_Seg], pat: str, caller_only: bool = True, limit: int = 3
) -> list[tuple[_Seg, re.Match]]:
    out = []
    for s in segs:
        if caller_only and s.is_regulator:
            continue
        for m in re.finditer(pat, s.folded):
            out.append((s, m))
            if len(out) >= limit:
                return out
    return out


def _location(segs: list[_Seg]) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    addr = _first(segs, ADDRESS, caller_only=False, limit=2)
    if addr:
        s, m = addr[0]
        e = s.ev(m.start(), m.end())
        out["location.address"] = FieldValue(e.quote, (e,), 0.7)
        out["location.address_present"] = FieldValue(True, (e,), 0.8)
    acc = _first(segs, ACCESS, caller_only=False, limit=3)
    if acc:
        evs = tuple(s.ev(m.start(), m.end()) for s, m in acc)
        out["location.access"] = FieldValue(", ".join(e.quote for e in evs), evs, 0.7)
    # city: the caller's answer right after the regulator asks where
    for i, s in enumerate(segs):
        if not (s.is_regulator and re.search(CITY_QUESTION, s.folded)):
            continue
        for nxt in segs[i + 1 : i + 3]:
            if nxt.is_regulator:
                continue
            for m in re.finditer(CITY_ANSWER, nxt.folded):
                name = m.group(1).strip()
                if name.split()[0] in CITY_STOP or name in CITY_STOP or len(name) < 3:
                    continue
                e = nxt.ev(m.start(1), m.end(1))
                out["location.city"] = FieldValue(e.quote.lower(), (e,), 0.5)
                break
            if "location.city" in out:
                break
        if "location.city" in out:
            break
    if "location.address_present" not in out and "location.city" in out:
        e = out["location.city"].evidence
        out["location.address_present"] = FieldValue(True, e, 0.5)
    if "location.address_present" not in out:
        # no address in the call is a finding in itself; the regulator's location questions, if
        # any, are the evidence that it was asked for and not given
        asked = [s.ev(0, len(s.text)) for s in segs if s.is_regulator and re.search(CITY_QUESTION, s.folded)]
        out["location.address_present"] = FieldValue(False, tuple(asked[:2]), 0.6)
    return out


def _state_fields(hits) -> dict[str, FieldValue]:
    """Consciousness, breathing, bleeding and pain from the findings (negations kept)."""
    out: dict[str, FieldValue] = {}

    def choose(name, positive, negative):
        pos = [h for h in hits if h[0] in positive and not h[3]]
        neg = [h for h in hits if h[0] in negative or (h[0] in positive and h[3])]
        return pos, neg

    pos, neg = choose("pain", {"douleur", "douleur thoracique", "douleur abdominale", "céphalée"}, set())
    if pos or neg:
        last = max(pos + neg, key=lambda h: h[5].segment)
        val = "non" if last in neg else "oui"
        grp = neg if val == "non" else pos
        out["patient.pain"] = FieldValue(val, tuple(h[5] for h in grp[-3:]), 0.6 + 0.1 * min(3, len(grp)))
    pos, neg = choose("bleeding", {"saignement", "vomissement de sang"}, set())
    if pos or neg:
        val = "oui" if len(pos) >= len(neg) else "non"
        grp = pos if val == "oui" else neg
        out["patient.bleeding"] = FieldValue(val, tuple(h[5] for h in grp[:3]), 0.6 + 0.1 * min(3, len(grp)))
    unconscious = [h for h in hits if h[0] in ("inconscience", "perte de connaissance") and not h[3]]
    if unconscious:
        out["patient.consciousness"] = FieldValue("inconscient", tuple(h[5] for h in unconscious[:3]), 0.7)
    apnoea = [h for h in hits if h[0] in ("ne respire plus", "arrêt cardio-respiratoire") and not h[3]]
    dyspnoea = [h for h in hits if h[0] in ("détresse respiratoire", "gêne respiratoire") and not h[3]]
    if apnoea:
        out["patient.breathing"] = FieldValue("absente", tuple(h[5] for h in apnoea[:3]), 0.7)
    elif dyspnoea:
        out["patient.breathing"] = FieldValue("difficile", tuple(h[5] for h in dyspnoea[:3]), 0.7)
    return out


def _conscious_breathing_positive(segs: list[_Seg], out: dict[str, FieldValue]) -> None:
    if "patient.consciousness" not in out:
        hit = _first(
            segs,
            r"\b(il|elle|je) (me |vous )?(parle|repond|est conscient|est consciente|est reveille|est reveillee)\b(?! pas| plus)",
            limit=1,
        )
        conf = _first(
            segs,
            r"\b(confus|confuse|desoriente|somnolent|somnolente|endormi|bizarre|dans le gaz|vaseux|vaseuse)\b",
            limit=1,
        )
        if conf:
            s, m = conf[0]
            out["patient.consciousness"] = FieldValue("altérée", (s.ev(m.start(), m.end()),), 0.5)
        elif hit:
            s, m = hit[0]
            out["patient.consciousness"] = FieldValue("conscient", (s.ev(m.start(), m.end()),), 0.6)
    if "patient.breathing" not in out:
        hit = _first(segs, r"\b(il|elle|je) respire\b(?! (pas|plus|mal))", limit=1)
        if hit:
            s, m = hit[0]
            out["patient.breathing"] = FieldValue("normale", (s.ev(m.start(), m.end()),), 0.6)


def _texts(segs: list[_Seg], pat: str, limit: int = 3) -> FieldValue | None:
    hits = _first(segs, pat, caller_only=True, limit=limit)
    if not hits:
        return None
    evs = []
    for s, m in hits:
        # extend the quote to the clause around the match (up to the next punctuation)
        a = (
            max(
                s.text.rfind(".", 0, m.start()),
                s.text.rfind(",", 0, m.start()),
                s.text.rfind("?", 0, m.start()),
            )
            + 1
        )
        b_candidates = [i for i in (s.text.find(c, m.end()) for c in ".,?") if i >= 0]
        b = min(b_candidates) if b_candidates else len(s.text)
        evs.append(s.ev(a, b))
    return FieldValue("; ".join(dict.fromkeys(e.quote for e in evs)), tuple(evs), 0.6)


def extract_rules(
    transcript: Transcript,
    options: RuleOptions | None = None,
    hook: Callable[[str, int, int], None] | None = None,
) -> CallForm:
    """Fill a call form from ``transcript`` with rules only (no model). Fields the call does not
    support stay empty; each filled field carries its evidence (segment index + quote)."""
    opts = options or RuleOptions()
    t0 = time.perf_counter()
    segs = _segments(transcript)
    warnings: list[str] = []
    if not segs:
        return CallForm({}, (), transcript.source, "rules", ("transcription vide : aucun champ rempli",))
    if len({s.speaker for s in segs}) < 2:
        warnings.append("un seul locuteur : rôles régulateur/appelant inconnus, tous les tours sont lus")
    lang = (transcript.language or "fr").lower().replace("_", "-").split("-")[0]
    if lang not in ("fr", "fra", "french"):
        warnings.append(f"langue {transcript.language!r} : les règles sont écrites pour le français")
    fields: dict[str, FieldValue] = {}
    hits = _findings(segs, opts)
    if hook:
        hook("findings", 1, 4)
    age = _age(segs)
    child = bool(age) and (age.value.split()[1] != "ans" or int(age.value.split()[0]) < 12)
    motif = _pick_motif(hits, segs, child)
    if motif:
        fields["qualification.motif"] = motif
        first_ev = motif.evidence[0]
        seg = next(s for s in segs if s.index == first_ev.segment)
        fields["qualification.whats_happened"] = FieldValue(
            seg.text.strip()[:200],
            (Evidence(seg.index, seg.text.strip()[:200], seg.speaker, seg.start, seg.end),),
            0.5,
        )
        first_quote = motif.evidence[0]
        names = [h[0] for h in hits if not h[3] and h[5] == first_quote] or ["motif"]
        fields["patient.complaint"] = FieldValue(names[0], motif.evidence[:1], motif.confidence)
    risks = []
    rev = []
    for s, m in _first(segs, r"couteau|arme blanche|poignard", caller_only=False, limit=1):
        risks.append("R04")
        rev.append(s.ev(m.start(), m.end()))
    for s, m in _first(segs, r"arme a feu|pistolet|fusil|par balle|coup de feu", caller_only=False, limit=1):
        risks.append("R05")
        rev.append(s.ev(m.start(), m.end()))
    for s, m in _first(
        segs, r"(?<!arme a )(?<!coup de )\bfeu\b|incendie|flammes|fumee", caller_only=True, limit=1
    ):
        risks.append("R14")
        rev.append(s.ev(m.start(), m.end()))
    if risks:
        fields["qualification.risks"] = FieldValue(tuple(risks), tuple(rev), 0.6)
    ct = _caller_type(segs)
    if ct:
        fields["caller.type"] = ct
    com = _communication(segs)
    if com:
        fields["caller.communication"] = com
    if hook:
        hook("caller", 2, 4)
    if age:
        fields["patient.age"] = age
    sex = _sex(segs, ct.value if ct else None)
    if sex:
        fields["patient.sex"] = sex
    fields.update(_state_fields(hits))
    _conscious_breathing_positive(segs, fields)
    hist = _texts(segs, HISTORY)
    if hist:
        fields["patient.history"] = hist
    none = _first(
        segs,
        r"(prend|prends|a|ai)\s+(pas|aucun|rien)\s*(de |d )?(traitement|medicament|cachet)|pas de traitement|aucun traitement",
        limit=1,
    )
    tr = _texts(segs, TREATMENT)
    if none and (not tr or none[0][0].index <= tr.evidence[0].segment):
        s0, m0 = none[0]
        fields["patient.treatments"] = FieldValue("aucun traitement", (s0.ev(m0.start(), m0.end()),), 0.7)
    elif tr:
        fields["patient.treatments"] = tr
    fields.update(_location(segs))
    if hook:
        hook("decision", 3, 4)
    dec, res, orient = _decision(segs)
    if dec:
        fields["decision.type"] = dec
    if res:
        fields["decision.resource"] = res
    if orient:
        fields["decision.orientation"] = orient
    prio = priority_field(segs, dec, res, motif, orient)
    if prio:
        fields["qualification.priority"] = prio
    findings = _merge_findings(hits, opts)
    if hook:
        hook("done", 4, 4)
    del t0
    return CallForm(fields, findings, transcript.source, "rules", tuple(warnings))


def _merge_findings(hits, opts: RuleOptions) -> tuple[Finding, ...]:
    """One finding per (name, negated), evidence merged, in order of first mention."""
    merged: dict[tuple[str, bool], list] = {}
    for name, _motif, _w, neg, hed, e, conf in hits:
        merged.setdefault((name, neg), []).append((hed, e, conf))
    out = []
    for (name, neg), items in merged.items():
        conf = max(c for _h, _e, c in items)
        if conf < opts.min_finding_confidence:
            continue
        hedged = all(h for h, _e, _c in items)
        out.append(Finding(name, neg, hedged, tuple(e for _h, e, _c in items[:3]), min(1.0, conf)))
    out.sort(key=lambda f: f.evidence[0].segment)
    return tuple(out)
