"""Rule extractor: the offline default that fills a :class:`CallForm` from a transcript, no model.

Built for speech-style French (no capitals, disfluencies, repetitions, numbers in words):
every pattern runs on accent-folded lower-case text without fillers and stutters
(:func:`samu.text.clean_speech`) whose offsets map back to the original, so each value keeps the
exact quote it came from. Findings are negation-, hedge- and condition-aware ("elle a pas mal" is
the finding *douleur, negated*; "s'il devient bleu, rappelez" is no finding). Who says what
matters: symptoms are taken from the caller's turns (and the regulator's statements, at lower
confidence, or only when the caller confirms them in an unpunctuated transcript), decisions from
the regulator's turns.

Each field is filled by a mechanism for a class of wordings rather than by examples: the age from
the answer to the regulator's age question, birth years counted from the call date, round
numbers for approximations, corrected values for self-corrections, other people's ages and ages
at past events left out; the caller type from how the caller introduces themself and whom the
regulator's questions are about; the motif from weighted findings (the opening turns weigh more)
refined by the annotation guide's tie-breakers (:func:`_refine_motif`); the decision from the
regulator's dispatch, orientation and advice lexicon, conditions and questions left out; the
priority from the decision with the guide's timing rules (:func:`priority_field`).

The cues were written from domain knowledge of SAMU regulation (and the Hub Santé code lists)
and revised on the train split of the project's call corpus (``samu/calls/train``); the priority
follows the rule documented in :func:`infer_priority` and in ``data_cards/samu_forms.md``.
"""

from __future__ import annotations

import bisect
import datetime
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

from asr.transcript import Transcript
from samu.schema import CallForm, Evidence, FieldValue, Finding
from samu.text import (
    FILLERS,
    NUMBER,
    NUMWORD,
    clean_speech,
    fold,
    hedged_at,
    negated_at,
    number_spans,
    without_fillers,
)

# ---------------------------------------------------------------------------------------------
# lexicons (accent-folded regexes)

# (finding name, regex, motif code, weight, inherently negative phrase?)
# Weights say how specific a cue is to its motif: a named condition ("colique néphrétique",
# "bout du doigt coupé") outweighs a symptom that many motifs share (vomiting, bleeding, a fall).
# fmt: off
FINDINGS: list[tuple[str, str, str, float, bool]] = [
    # M01 vital distress
    ("arrêt cardio-respiratoire", r"arret cardiaque|arret cardio|massage cardiaque|c(?:oe|œ)ur (?:s est )?arrete|mort subite|(?:plus|pas) de pouls|sent (?:plus|pas) (?:son|le) pouls", "M01.01", 6, True),
    ("ne respire plus", r"(?:ne )?respire (?:plus|pas|presque plus)\b(?! bien| normalement| mal| tres| trop| comme| correctement)", "M01.01", 4, True),
    ("pendaison", r"\bpendue?\b|pendaison|strangul", "M01.03", 6, False),
    ("inconscience", r"inconscien|(?:ne )?(?:me |nous )?repond (?:plus|pas)(?! (?:au|a son|a mes|a nos|a ses|a la|quand))|(?:ne )?reagit (?:plus|pas)|(?:ne )?se reveille (?:plus|pas)|sans connaissance|dans le coma|\bcoma\b|ouvre (?:plus|pas) les yeux|(?:difficile|dur|du mal) a (?:le |la )?reveiller|arrive (?:pas|plus) a (?:le |la )?reveiller|(?:glasgow|gcs) (?:a |de )?(?:[3-9]|1[0-2]|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze)\b|il dort presque|elle dort presque|(?:les )?referme les yeux", "M01.02", 4, True),
    ("confusion", r"\bconfuse?\b|desoriente|(?:dit|raconte) n importe quoi|(?:il|elle) est (?:tout |toute |completement )?perdue?\b|somnolente?|tres endormie?", "M01.02", 1.5, False),
    ("détresse respiratoire", r"(?:arrive|peut|peux) (?:plus|pas) a (?:respirer|parler|reprendre (?:son|mon) souffle)|\betouff|suffoqu|detresse respiratoire|(?:levres|visage|bouche) (?:toutes? )?(?:bleu|violet|gris)|devient (?:tout )?(?:bleu|gris|violet)|\bcyanos|(?:il|elle) est (?:tout |toute )?(?:grise?|bleue?|violette?)\b|gorge (?:qui )?serre|serre la gorge|fausse route|avale de travers|(?:coince|bloque) dans (?:la gorge|la trachee)|corps etranger", "M01.03", 5, True),
    ("signes de lutte respiratoire", r"se creuse|tirage|sous les cotes|voix (?:rauque|cassee|change)|bruit (?:quand il|quand elle|en) respir|respire (?:tres |trop )?vite", "M01.03", 2.5, False),
    # M02 injuries
    ("hypothermie, coup de chaleur", r"hypotherm|grelott|frigorifi|congel|tout gele|(?:il|elle|je) (?:est|suis|etait|etais) (?:tout |toute )?(?:glacee?|gelee?)\b|(?:nuit|journee) (?:\w+ )?(?:sans chauffage|dans le froid)|(?:temperature|thermometre) (?:\w+ ){0,3}(?:trente (?:deux|trois|quatre|cinq)|3[2-5])\b|moins (?:\w+ )?degres|il fait moins|coup de chaleur|insolation|canicule|fournaise|(?:peau|elle|il) (?:est )?(?:toute? )?(?:seche et (?:chaude|brulante)|brulante)|trempe et (?:il|elle) (?:grelotte|tremble)", "M02.03", 5, False),
    ("exposition à la chaleur", r"(?:en plein|au|sous le|sous un|grand) soleil|(?:sans|pas de|pas mis de|pas pris de) (?:casquette|chapeau)|(?:il fait|fait|faisait) (?:tres |super |trop )?chaud|(?:forte|pleine|grosse) chaleur|(?:sans|pas) (?:d )?eau depuis|(?:il|elle) a (?:tres |super |beaucoup )?trop chaud|(?:transpire|sue) plus (?:du tout)?", "M02.03", 1.5, False),
    # the weather's temperature ("il fait trente-huit à l'ombre", "on a eu trente-cinq degrés") is
    # heat exposure, not a fever (the fever cue leaves out these phrasings)
    ("exposition à la chaleur", r"(?:il fait|il faisait|il a fait|on a eu|on avait)(?: \w+)? (?:(?:trente|quarante)(?: et)?(?: \w+)?|3\d|4\d)\b(?: a l ombre| degres| dehors)?", "M02.03", 1.5, False),
    ("brûlure", r"(?<!ca )(?<!qui )(?<!ca me )(?<!ca lui )(?<!ca te )brul(?!ante?\b|e en urinant|e quand (?:il|elle|je) (?:urine|fait pipi)|ures d estomac)|ebouillant|bouilloire|huile bouillante|eau bouillante|cloques", "M02.05", 4, False),
    ("plaie par arme", r"(?<!comme un )(?<!comme une )(?<!comme un coup de )(?:couteau|poignard|arme blanche|par balle|arme a feu|coup de feu|tire dessus|\barme\b)", "M02.07", 5, False),
    ("amputation", r"amput|sectionn|(?:se|s est|s etait) fait (?:couper|arracher|sectionner) (?:un|deux|trois|le|la|les|des|ses|son|sa) (?:bout du |bout de )?(?:doigts?|phalanges?|orteils?|main|pied)|(?:doigts?|phalanges?|orteils?)\b.{0,25}\b(?:coupes?|coupees?|sectionnes?|arraches?) (?:complet|net)|(?:doigt|index|pouce|majeur|orteil|main)s? (?:\w+ )?(?:complet\w* )?(?:coupe|arrache|parti)\w*(?! (?:au|a la|sur))|bout (?:du|de l|de son|de mon) (?:doigt|index|pouce|majeur|orteil)|(?:doigts?|index|pouce|majeur|orteils?)\b.{0,40}\b(?:sont|est) (?:partis?|tombes?)\b|(?:coupe|arrache)\w* (?:le|la|son|mon|sa) (?:doigt|index|pouce|main|orteil)\w* (?:\w+ )?complet", "M02.09", 6, False),
    ("écrasement", r"ecras|(?:coince|pris|prise) (?:la |le |sa |son |les |ses )?(?:main|bras|jambe|pied|doigts?) (?:dans|sous|entre)|coincee? (?:sous|dans) (?:la|le|une|un)|coince\w* (?:\w+ ){0,2}(?:contre|entre) (?:la|le|les|un|une|deux)\b", "M02.10", 6, False),
    ("traumatisme bénin", r"entorse|(?:tordu|foule|retourne) (?:la|le|sa|son|ma|mon) (?:cheville|poignet|genou|pied)|foulure|morsure|\bmordu|s est cogne|me suis cogne|bosse|egratign|ecorch|coupure|(?:coupe|ouvert|entaille)\w* (?:le |la |l |au |a la |son |sa |mon |ma )?(?:pouce|doigt|main|front|arcade|menton|pied|genou|jambe|bras|levre|tete)s?\b|eclat (?:de \w+ )?dans l (?:oe|œ)il|(?:truc|corps etranger|poussiere|eclat) dans l (?:oe|œ)il|petite plaie|(?:s est|me suis|t es) (?:fait mal|blesse)|(?:pris|recu|prend|tombe\w*) (?:un |une |la |le |l |des )?(?:\w+ ){0,2}sur (?:la|sa|ma) tete", "M02.06", 3.5, False),
    ("plaie", r"\bplaie|entaille", "M02.06", 1.5, False),
    ("traumatisme sérieux", r"fractur|(?:bras|jambe|poignet|os) (?:tout )?(?:deforme|tordu|casse)|(?:bras|jambe|poignet|cheville|avant bras|cuisse|tibia|epaule|hanche)s?(?: (?:il|elle) est)? (?:tout|toute) (?:deformee?|tordue?|de travers)|(?:fait|forme) (?:un angle|une bosse|une marche)(?: \w+)? (?:bizarre|pas normal\w*|d escalier)|angle (?:bizarre|pas normal)|(?:jambe|pied) (?:\w+ ){0,2}(?:raccourcie?|tournee? vers l exterieur)|col du femur|(?:tout|toute) deformee?|os qui (?:sort|depasse)|\bcasse (?:le|la|son|sa)|choc (?:a|sur) la tete|traumatisme cranien|coup (?:sur|a) la tete|plaie profonde|pisse le sang|(?:tombe|chute) (?:du|de la|de l|d un|d une) (?:toit|echelle|echafaudage|fenetre|balcon|etage|arbre|mur)|(?:tombe|chute) de (?:\w+ )?metres|(?:tombe|chute)\w* dans (?:la|le|l|une|un) (?:cale|fosse|puits|trou|ravin|cage)|defenestr", "M02.07", 3.5, False),
    ("accident de la route", r"accident\b.{0,30}(?:route|voiture|moto|scooter|velo|camion|circulation|autoroute)|(?:voiture|moto|scooter|velo|camion|bus|camionnette)\b.{0,30}(?:accident|percute|renverse|rentre dedans)|renverse par|s est fait renverser|percute|collision|(?:tombe|chute|glisse)\w* (?:de|en|avec) (?:son |sa |mon |ma |la |le |un |une )?(?:velo|moto|scooter|trottinette|cheval)", "M02.07", 3.5, False),
    ("saignement", r"saign|\bsang\b|hemorrag", "M02.01", 1, False),
    ("épistaxis", r"saign\w* du nez|nez qui saigne|epistaxis|saignement de nez", "M03.18", 6, False),
    ("vomissement de sang", r"vomi\w* (?:du |de )?sang|hematemese|crache\w* du sang|vomi\w* (?:tout )?rouge", "M03.18", 6, False),
    ("accident de travail ou chute", r"accident (?:de travail|du travail)", "M02.06", 1, False),
    ("coups", r"coups? de (?:poing|pied|tete|batte|boule)|des coups|roue de coups|(?<!on vous a )(?<!personne m a )(?<!m a )(?<!j ai )(?<!avez )(?<!on a )(?<!\bai )frapp(?!\w* (?:a la porte|chez|aux? (?:volets?|fenetres?|carreaux)))|\bbattue?\b|tabass|agress|\b(?:l a|m a|les a|nous a|t a) (?:tapee?s?|cognee?s?|giflee?s?)\b|violences? (?:conjugale|familiale)|violente", "M02.06", 3, False),
    # M03 medical
    ("post-partum", r"\b(?:a|ai|avez|as) accouche\b|depuis l accouchement|apres l accouchement|post partum|accouchee (?:il y a|depuis)", "M03.02", 6, False),
    ("accouchement", r"(?<!\ba )(?<!\bai )(?<!avez )(?<!\bas )(?<!depuis l )(?<!apres l )accouch(?!ee il y a|ee depuis)|perdu les eaux|perte des eaux|poche des eaux|(?:des |les )?contractions|bebe (?:arrive|sort)|envie de pousser|(?:la )?tete (?:du bebe )?(?:qui )?sort|travail a commence", "M03.01", 6, False),
    ("grossesse", r"enceinte|grossesse|semaines d amenorrhee", "M03.02", 1, False),
    ("problème de grossesse", r"eclampsie|(?:tension|pression).{0,30}(?:enceinte|grossesse)|(?:sent|sens) (?:plus|pas|moins|presque plus) (?:le bebe |bebe )?bouger|(?:bebe|il) (?:bouge|remue) (?:moins|beaucoup moins|presque plus)|mouvements? (?:du bebe|actifs)|(?:bebe|il) (?:ne )?bouge plus dans", "M03.02", 6, False),
    ("saignement gynécologique", r"regles (?:tres |trop )?(?:abondantes|fortes)|(?:hemorragie|saignements?) (?:gyneco\w*|vaginal\w*)|saign\w* (?:\w+ )?(?:du vagin|en bas)|saignements? vaginaux|(?:mes|ses|les|vos) regles\b.{0,40}saign|saign\w*.{0,40}\b(?:regles|menopause)|(?:apres|depuis) la menopause|pertes (?:de sang|rosees|sanglantes|brunes)", "M03.03", 4, False),
    ("problème uro-génital", r"colique nephretique|calculs?\b|sonde (?:urinaire|vesicale)|\bsonde\b|\bglobe\b|retention (?:urinaire|d urine)|(?:arrive|peut) (?:plus|pas) a (?:uriner|faire pipi)|brule en urinant|infection urinaire|cystite|testicul|prostat|(?:sang|du sang) dans les urines|descend dans (?:l|le) (?:aine|bas ventre)", "M03.05", 5, False),
    ("douleur thoracique", r"(?:mal|douleurs?|gene|poids|serre|serrement|brulure|oppression|pese|appuie|comprime) (?:\w+ ){0,3}(?:a |dans |sur |au milieu de )?(?:la |sa |ma )poitrine|(?:serre|pese|appuie|comprime|mal|douleurs?) (?:\w+ ){0,2}(?:au|sur le|dans le) (?:sternum|thorax)|douleur thoracique|mal au thorax|oppression|(?:comme )?(?:un poids|un etau)|syndrome coronarien|infarctus", "M03.06", 5, False),
    ("signes d'AVC", r"\bavc\b|paralys|bouche (?:de travers|tordue|qui tombe)|visage (?:de travers|paralyse|qui tombe)|(?:arrive|peut) (?:plus|pas) a parler|parle (?:bizarre|bizarrement|plus|mal|de travers)|(?:bras|jambe|main) qui (?:tombe|lache|ne repond)|bouge (?:plus|pas) (?:son|le|sa|du) (?:bras|jambe|main|cote)|hemipleg|mots qui veulent rien dire|trouve (?:plus|pas) ses mots|(?:elle|il) (?:ne )?comprend (?:plus|pas) ce qu on (?:lui )?dit|\baphasi|bouche (?:pateuse|molle)|parle (?:\w+ )?pateux|(?:main|bras) (?:\w+ )?(?:qui |elle )?lache (?:tout|les objets)|(?:arrive|peut) (?:plus|pas) a tenir (?:sa|son|ses|la|le|les) \w+|(?:bras|jambe) (?:tout )?(?:faible|lourd|mou)\b", "M03.08", 5, True),
    ("convulsions", r"convuls|epilep|crise (?:d epilepsie|convulsive)|tremble de partout|tremble partout|yeux (?:revulses|en l air|qui partent)|secousses|(?:il|elle) (?:se )?(?:raidit|raidi)\b", "M03.07", 5, False),
    ("vertige", r"vertige|tout tourne|ca tourne|(?:la )?(?:chambre|piece) (?:s est mise a )?tourn", "M03.07", 3, False),
    ("malaise", r"malaise|se sent (?:pas bien|mal)|me sens (?:pas bien|mal)|s est senti partir|senti partir|tete qui tourne|(?:pas|plus) dans son assiette", "M03.09", 2, True),
    ("hypoglycémie", r"hypoglyc|\bhypo\b|(?:son|mon|le) (?:sucre|dextro)|glycemie (?:est |a )?(?:basse|tres basse|trop basse|effondree)|(?:un|du) sucre|resucr|diabetique", "M03.09", 2.5, False),
    ("perte de connaissance", r"perdu connaissance|perte de connaissance|evanoui|(?:tombe|tombee) dans les pommes|s est effondre|syncope|(?:tombee?|tombe) d un coup", "M03.10", 4, False),
    ("céphalée", r"mal (?:a|de) (?:la )?tete|migraine|cephal|tete (?:qui|va) (?:explose|eclate)|(?:ca )?(?:lui |me )?tape (?:dans|derriere) (?:la tete|l (?:oe|œ)il)", "M03.11", 4, False),
    ("gêne respiratoire", r"essouffl|du mal a respirer|respire mal|mal a respirer|genee? pour respirer|pas bien pour respirer|gene respiratoire|souffle court|crise d asthme|asthm|ventoline|siffle|sifflement|bronchiolite|\bbpco\b|bronchite|emphyseme|(?:court|manque) (?:de|d) (?:souffle|air)|(?:je|il|elle) tousse|\btoux\b|crache", "M03.12", 3, False),
    ("trouble du rythme", r"palpit|c(?:oe|œ)ur (?:qui |il )?(?:bat|tape|cogne|s emballe)|bat (?:tres |trop )?(?:vite|fort)|tachycard|fibrillation|arythmi|irregulier|(?:tension|pression) (?:trop |tres )?(?:elevee|haute|forte)\b|(?:tension|pression) (?:a|de) (?:1[89]|2\d|dix huit|dix neuf|vingt)\b|hypertension|\bhta\b|pouls (?:tres )?(?:rapide|irregulier)", "M03.13", 5, False),
    ("fièvre", r"fievre|(?:de la|un peu de|beaucoup de) temperature|temperature (?:a |de )?(?:3[89]|4[01]|trente (?:huit|neuf)|quarante)\b|\bbrulante?\b(?! (?:de|a|sur|au|la|le))|(?<!fait )(?<!faisait )(?<!on a eu )(?<!on avait )\b(?:38|39|40|41)(?: degres| de fievre| \d)(?! a l ombre| dehors)|(?<!fait )(?<!faisait )(?<!on a eu )(?<!on avait )trente (?:huit|neuf)\b(?! ans\b| an\b| mois\b| kilos?\b| a l ombre| degres dehors| dehors)|quarante de fievre|\bcovid|grippe|frissons|\bfebrile", "M03.14", 3, False),
    ("infection", r"pneumo|angine|purpura|meningit|infection (?:pulmonaire|respiratoire)|otite|pyelo|septic", "M03.14", 4, False),
    ("allergie", r"allerg|urticaire|reaction (?:a|au|aux)|plaques (?:rouges )?(?:partout|qui grattent)|(?:ca |qui )gratte|demange|(?:visage|levres|langue|gorge|figure|paupieres) (?:toute? )?(?:gonfl|enfl)|gonfl\w* (?:le |la |les |du |de la )?(?:visage|levres|langue|gorge|figure|paupieres|yeux)|(?:o|œ|oe)deme|piq\w* (?:de|par) (?:une |un )?(?:guepe|abeille|frelon|insecte|moustique)|\bguepe|\babeille|\bfrelon|cacahuete|arachide", "M03.15", 5, False),
    ("trouble psychiatrique", r"suicid|se tuer|me tuer|(?:veut|voulait|veux|voulais) mourir|envie de mourir|en finir|depress|psychiatr|schizo|bipolaire|delire|entend des voix|scarifi|se faire du mal|idees noires|mutil|se jeter|sauter (?:par|du|de la)|menace de se|lettre d adieu|adieux?\b", "M03.16", 4, False),
    ("tétanie", r"tetanie|spasmophil|hyperventil", "M03.17", 6, False),
    # the signs of hyperventilation tetany in everyday words: hands that cramp or close by
    # themselves, tingling of both hands or around the mouth (plural hands: one numb arm is a stroke sign)
    ("spasmes des mains", r"(?:mains|doigts)\b(?: \w+){0,4} (?:crispee?s|raides|(?:qui )?se (?:tordent|crispent|ferment|raidissent|contractent|recroquevillent)|engourdi\w*|picot\w*|fourmill\w*)|(?:picot\w*|fourmill\w*|fourmis|engourdi\w*)(?: \w+){0,4} (?:mains|doigts|levres|(?:autour de )?la bouche)|autour de la bouche (?:ca |ils? |elles? )?(?:picot\w*|fourmill\w*)", "M03.17", 4, False),
    ("agitation, anxiété", r"crise d angoisse|angoiss|panique|fourmill|fourmis (?:dans|autour)|crispe|agite|agitation|crise de nerfs", "M03.17", 3, False),
    ("douleur abdominale", r"mal au ventre|douleurs? (?:au|du|dans le|a) (?:ventre|bas ventre)|douleur abdominale|abdomen|mal a l estomac|autour du nombril|(?:ventre|abdomen)\w*(?: \w+){0,4} en bas a droite|appendic|occlusi|ventre (?:dur|gonfle)", "M03.20", 4, False),
    ("trouble digestif", r"(?<!faire )(?<!fait )(?<!envie de )vomi|nause|mal au c(?:oe|œ)ur|diarrh|constip|gastro|(?:va|fait) pas a la selle", "M03.21", 2, False),
    ("autre douleur", r"mal de (?:dos|dents?|gorge|reins|nuque)|(?:douleurs?|mal) (?:\w+ )?(?:dans le |au )bas du dos|mal (?:au|aux|a la|a l|a) (?:dos|dent|dents|oreille|oreilles|genou|epaule|gorge|jambe|hanche|pied|cheville|nuque|cou|reins?|bras|poignet|main|(?:oe|œ)il)|rage de dents|lumbago|(?:bloque|coince) (?:le|du) dos|tour de reins|sciatique|pain in the|hurts?\b|arthrose|(?:oe|œ)il (?:rouge|qui pleure)", "M03.22", 2, False),
    ("douleur", r"\bmal\b|douleur|souffr", "M03.22", 0.5, False),
    # M04 intoxications
    ("intoxication médicamenteuse", r"(?:avale|avaler)\b.{0,30}(?:medicaments?|cachets?|comprimes?|pilules?|gelules?|dolipranes?|boites?|plaquettes?)|(?:pris|prise|repris)\b.{0,25}(?:toute? (?:la|une|sa|ma) (?:boite|plaquette)|toutes? (?:les|ses|mes) (?:boites|plaquettes|medicaments|cachets|comprimes|pilules)|tous (?:les|ses|mes) (?:medicaments|cachets|comprimes)|plusieurs (?:boites|plaquettes|cachets|comprimes)|(?:trop|beaucoup) de (?:medicaments|cachets|comprimes|pilules|dolipranes?)|des (?:medicaments|cachets|comprimes|dolipranes|pilules))|surdose|overdose|tentative de suicide|(?:pris|prend|fume|sniffe|injecte|consomme)\w*\b.{0,20}\b(?:md|mdma|ecstasy|extasy|ecstas?|extas?|taz|coke|cocaine|heroine|crack|ghb|ketamine|lsd|speed|drogues?|amphet\w*)\b|(?:md|mdma|ecstasy|ecsta|taz|cocaine|heroine|crack|ghb|ketamine|drogues?)\b.{0,20}\b(?:pris|prend|consomme)|\bintox|(?:boites?|plaquettes?) (?:de \w+ )?vides?|tuyau\b.{0,40}\bpot d echappement", "M04.01", 5, False),
    ("sevrage", r"sevrage|\ben manque\b|substitution|methadone|subutex|buprenorphine|delirium|(?:arrete|stoppe)\w* (?:de |l )?(?:boire|l alcool|picoler)(?: \w+){0,2} d un coup|(?:arrete|stoppe)\w* d un coup (?:de |l )?(?:boire|l alcool)", "M04.01", 6, False),
    ("intoxication accidentelle", r"(?:avale|bu|mange|mis dans la bouche)\b.{0,30}(?:produit|javel|detergent|champignon|pile|white spirit|lessive|deboucheur|desherbant|pesticide|insecticide|raticide|mort aux rats|antigel)|pile bouton|monoxyde|fuite de gaz|(?:chauffe eau|chaudiere|poele|brasero|groupe electrogene|barbecue)\b.{0,15}(?:au gaz|a gaz|au charbon|au fioul|refoul)|(?:respire|inhale|vapeurs?|emanations?|fumees?|melange)\w*\b.{0,30}\b(?:javel|acide|detartrant|chlore|ammoniaque|produits? (?:menager|chimique|d entretien)s?)|(?:javel|chlore|ammoniaque|acide)\b.{0,30}\b(?:vapeurs?|emanations?|fumees?|inhal|melange)|poele (?:qui )?refoul|par erreur|(?:oublie|oubliee?) (?:que|qu) (?:je|il|elle) (?:les|l) avai|(?:les|l) ai repris|double dose|deux fois (?:mes|ses|son|sa|leur) (?:traitement|medicaments|cachets|dose)", "M04.02", 5, False),
    ("ivresse", r"\bivre|bourre|alcool|trop bu|a bu\b|ont bu|saoul|alcoolis|\bvodka|whisky|\bbieres?\b|shooters?|\brhum\b|pastis|\bvin\b", "M04.03", 3, False),
    # M05 social
    ("problème social", r"\bsdf\b|sans abri|a la rue\b|sans domicile|mis dehors|mise dehors|mis a la porte|expuls|nulle part ou dormir|(?:pas|plus) de logement|ou dormir|hebergement d urgence|samu social|dort dehors|dormir dehors|pas d endroit (?:pour|ou) dormir|viree? de son (?:foyer|logement|appartement)", "M05.01", 4, False),
    ("incurie", r"incurie|(?:mange|boit|se lave) plus (?:rien)?|porcherie|crasse|tout sale|maigre comme|frigo (?:est )?vide|s occupe plus de (?:lui|elle)|se laisse aller|laisse aller|dans ses excrements|urine partout|sale partout|nourriture pourrie|(?:tout|toute|tres|si) maigre|sent l urine|flotte dans (?:ses|son|sa) \w+|frigo (?:il |elle )?(?:est )?vide|se lave plus|(?:a|avait) pas mange depuis (?:des|plusieurs) jours|fait sous (?:lui|elle)", "M05.02", 3, False),
    # M06 other requests
    ("décès", r"(?:est |etait )?decedee? (?:cette nuit|ce matin|ce soir|tout a l heure|dans (?:son|sa) (?:lit|fauteuil))|certificat de deces|constater le deces|pompes funebres|\b(?:est|etait) (?:mort|morte|decede|decedee)\b(?! il y a| depuis| en \d| de peur)|rigide|raide et froid", "M06.01", 5, False),
    ("demande de conseil", r"(?:voulais|voudrais|veux) (?:un |des |juste un )?(?:conseil|savoir)|je voulais savoir|une question", "M06.02", 2, False),
    ("demande de renseignement", r"renseignement|quelle dose|est ce que (?:je|il|elle) (?:peux|peut) (?:lui )?(?:donner|prendre)|(?:j ai )?oublie (?:mes|ses|son|mon|sa) (?:medicament|traitement|stylo|insuline|cachets|pilule|comprimes)|ordonnance|pas vraiment une urgence", "M06.02", 3, False),
    ("relevage", r"(?:arrive|peux|peut|arrivons|arrivent|arrivez) (?:pas|plus) a (?:se |la |le |me |les |l )?(?:relever|remonter)|(?:la|le) relever|relevage|glisse (?:du|de son|de sa|de la) (?:fauteuil|lit|canape|chaise)|(?:assise?|allongee?) par terre|reste (?:par terre|au sol)|coince par terre", "M06.03", 5, True),
    ("chute", r"(?:est|suis|sont) tombee?s?|chute|par terre|au sol", "M06.03", 1, False),
    ("ne répond pas", r"(?:repond|decroche) (?:plus|pas) (?:au|a son|a mes|a nos|a ses|a la) (?:telephone|appels?|portable|porte|fixe)|(?:repond|decroche) (?:plus|pas) quand (?:j|on) (?:l )?(?:appel|sonn)|(?:volets|rideaux) (?:sont )?(?:restes )?(?:fermes|clos)|(?:je|on) (?:la|le) vois plus|pas vue? depuis|sans nouvelles", "M06.04", 5, True),
    ("autre demande", r"pharmacie de garde|(?:demande de |un )transport (?:pour|vers)|transfert|retour a domicile", "M06.04", 2.5, False),
]
# fmt: on

RELATIONS_F = r"fille|femme|mere|maman|grand mere|mamie|s(?:oe|œ)ur|belle mere|tante|cousine|niece|petite fille|compagne|copine|voisine|collegue|amie|patiente|dame|epouse|bebe fille"
RELATIONS_M = r"fils|mari|pere|papa|grand pere|papy|frere|beau pere|oncle|cousin|neveu|petit fils|compagnon|copain|voisin|collegue|ami|patient|monsieur|epoux|garcon"
FAMILY = (
    r"fille|fils|femme|mari|mere|maman|pere|papa|grand mere|grand pere|mamie|papy|papi|s(?:oe|œ)ur|frere|belle mere|"
    r"beau pere|tante|oncle|cousin|cousine|niece|neveu|petite fille|petit fils|compagne|compagnon|copine|copain|epouse|"
    r"epoux|bebe|enfant|gamin|gamine|petit|petite|conjoint|conjointe|beau fils|belle fille|belle s(?:oe|œ)ur|"
    r"beau frere|coloc|colocataire|meilleure amie|meilleur ami|amie|ami|fiance|fiancee|concubin|concubine|pote|"
    r"arriere grand mere|arriere grand pere|parrain|marraine|filleul|filleule|petit ami|petite amie"
)
# people who are not family: neighbours, colleagues, passers-by, people in the caller's charge at work
THIRD = (
    r"voisin|voisine|collegue|passant|passante|un monsieur|une dame|un homme|une femme|un jeune|une jeune|"
    r"inconnu|inconnue|client|cliente|patron|patronne|eleve|apprenti|apprentie|employe|employee|"
    r"salarie|salariee|ouvrier|un gars|un type|un mec|une personne|un individu|un joueur|une joueuse|un invite|"
    r"une invitee|un enfant|un des enfants|un petit|une petite|un bebe|une vieille dame|un vieux monsieur|"
    r"un pieton|une pietonne|un cycliste|un motard|un automobiliste|un conducteur|un passager|une passagere|"
    r"un sdf|un adherent|un licencie|un resident|une residente|un stagiaire|une stagiaire"
)
# the caller is the patient: first-person complaints
SELF = (
    r"j ai (?:tres |trop |super |vachement |un peu )?mal|je me sens|je suis tombee?|je me suis|"
    r"j ai (?:de la |un peu de )?fievre|je saigne|j arrive (?:pas|plus) a (?:respirer|me|marcher|bouger)|"
    r"je vais accoucher|j ai perdu les eaux|je suis enceinte|j ai pris|j ai avale|j ai vomi|je vomis|je tousse|"
    r"j ai des (?:douleurs|contractions|plaques|boutons|vertiges|palpitations|fourmis|saignements)|"
    r"j ai une (?:douleur|migraine|angine|rage|gene|plaie|brulure|entorse|bronchite|grippe|gastro|crise)|"
    r"j ai un (?:mal|lumbago|malaise|souci|probleme|truc|bouton)|c est pour moi|c est moi qui (?:ai|suis)|"
    r"j ai oublie mes|j ai plus de (?:logement|medicaments|traitement)|je suis (?:diabetique|asthmatique|"
    r"epileptique|migraineuse?|cardiaque|malade|bloquee?|brulee?|coupee?|blessee?)|je tremble|j etouffe|"
    r"je fais une crise|je respire mal|j ai du mal a respirer|je peux (?:plus|pas) (?:bouger|marcher|respirer)|"
    r"je suis pas bien|je me sens pas bien|mon c(?:oe|œ)ur (?:il )?bat|je peux (?:pas|plus) me lever|"
    r"j ai envie de vomir|je vois (?:flou|trouble|plus|double)|j ai une espece de|j ai (?:la|le|les) \w+ qui"
)
# the regulator addressing the caller as the patient
SELF_REG = (
    r"\bvous (?:avez (?:tres |encore |toujours )?(?:mal|de la fievre|des (?:contractions|douleurs|nausees|vertiges|"
    r"saignements|antecedents)|vomi|pris|saigne|du mal a)|etes (?:enceinte|tombee?|diabetique|essoufflee?|"
    r"allergique|migraineuse?|seule?|blessee?)|vous etes (?:fait|brule|coupe|blesse|cogne)|respirez|"
    r"toussez|saignez|sentez|prenez (?:un|des) traitement)|\bvotre (?:douleur|fievre|tete|ventre|dos|cheville|"
    r"bras|jambe|main|pied|doigt|pouce|genou|poitrine|c(?:oe|œ)ur|tension|traitement)\b"
)
# one pattern per professional code (the caller calling in that role, at work)
PROFESSION = [
    (
        r"je suis (?:l |la |le |une? )?(?:infirmi|aide soignant|sage femme|pharmacien|auxiliaire de vie|"
        r"aide a domicile|aide menagere|kine|ergotherapeute|manipulat|preparat)|\binfirmiere? (?:liberale?|a domicile|"
        r"de l ehpad|de nuit|de garde)|(?:c est|ici) la pharmacie (?!de garde)\w+|je suis a la pharmacie|"
        r"(?:je travaille|je suis) (?:a|en|dans) (?:l |un |une )?(?:ehpad|maison de retraite|foyer|clinique)|"
        r"l aide a domicile de|l infirmiere de",
        "SANTE",
    ),
    (
        r"je suis (?:le |la |un |une )?(?:medecin|docteur)\b|medecin generaliste|(?:docteur|dr) \w+ (?:medecin|generaliste)|"
        r"de mon cabinet|a mon cabinet|dans mon cabinet|mon cabinet|j ai (?:un|une) (?:patient|patiente)\b|"
        r"je suis en visite",
        "MED",
    ),
    (
        r"je suis (?:le |un |une )?(?:pompier|sapeur)|sapeurs? pompiers? (?:de|du|d)\b|chef d agres|centre de secours|"
        r"\bvsav\b|on vous passe (?:un|le) bilan|(?:je vous|on vous) (?:fais|fait|passe) (?:un|le) bilan|"
        r"\bcis\b|on est (?:les|des) pompiers|sur intervention",
        "POMPIER",
    ),
    (
        r"je suis (?:le |la |un |une )?(?:policier|policiere|gendarme|brigadier)|police (?:nationale|municipale)|"
        r"gendarmerie|commissariat|brigade (?:de|du|d)|marechal des logis|patrouille|\bbac\b|"
        r"on est (?:la |de la )?police|(?:agent|agents) de police|equipage de police",
        "FDO-MILI",
    ),
    (
        r"je suis (?:l |un |une )?ambulanci|ambulances? \w+ (?:on|je)\b|societe d ambulance|"
        r"(?:bonjour|bonsoir|c est|ici) (?:les )?ambulances (?:du|de la|de l|des|de|d) (?:\w+ ){1,2}(?:on|je|nous)\b",
        "AMBULANC",
    ),
    (
        r"je suis (?:l |le |la |un |une )?(?:secouriste|sauveteur|maitre nageur|surveillante? de baignade|\bsst\b)|"
        r"(?:ici|c est|on est) (?:la |le |l )?(?:protection civile|croix rouge|poste de secours|ordre de malte)|"
        r"poste de secours|dispositif (?:de secours|previsionnel)",
        "SECOUR",
    ),
    (
        # a telecare (alarm pendant) operator calling for a subscriber: a function with no code of its own
        r"\b(?:centrale|plateforme|service|societe|centre) (?:de |d )?tele ?(?:assistance|alarme|surveillance)\b|"
        r"\bje suis (?:l |un |une )?operat(?:eur|rice)\b",
        "AUTRE",
    ),
]

PANIC = r"\bvite\b|depechez|au secours|je panique|aidez moi|aidez nous|faites quelque chose|s il vous plait|mon dieu|oh la la|je sais pas quoi faire"
HOSTILE = r"putain|merde|connard|connasse|vous (vous )?foutez|n importe quoi|porter plainte|incompetent|vous servez a rien|je m en fous|ta gueule|bordel|vos gueules"
LANGUAGE = r"je parle pas (bien )?francais|parle pas francais|english|no french|comprends pas le francais"

# decision cues in the regulator's turns: (regex, decision, resource, orientation, weight)
_SEND = r"(?:envoie|envoyer|envoyons|envoye|envoyee|declenche|declencher|engage|engager|fais partir|fait partir|faire partir|fais venir|faire venir|missionne)"
_GO = (
    r"(?:aller|allez|alliez|aille|ailles|allions|emmenez|emmener|emmene|emmenent|amenez|amener|conduisez|conduire|"
    r"conduit|rendre|rendez vous|vous rendez|presentez vous|passer|passez|direction|filez|partez|partir|vous partez|voyez|"
    r"emmeneront|conduiront|accompagnez|accompagner|accompagne|soyez vue?s?|etre vue?s?|consulter|consultez|consulte|voir|voie|voient)\b(?! bien)"
)
DECISIONS: list[tuple[str, str, str | None, str | None, float]] = [
    (
        rf"\bsmur\b|equipe (?:medicale|de reanimation|du samu|du smur|mobile)|ambulance de reanimation|"
        rf"{_SEND}\b.{{0,40}}\b(?:samu|reanimation|medecin du samu|medecin urgentiste|urgentiste|un medecin avec)\b|"
        r"(?:le |l equipe du )samu (?:va|vient|arrive)|medecin du samu (?:va|vient|arrive)|"
        r"(?:un |le )medecin (?:va |vient |arrive )?avec les pompiers|helicoptere du samu|\bhelismur\b",
        "INTER",
        "SMUR",
        None,
        6,
    ),
    (
        r"pompiers?|sapeurs|\bvsav\b|(?:les |des |envoie |envoyer |envoyons )secours\b(?! a personne)",
        "INTER",
        "SIS",
        None,
        4,
    ),
    (r"\bambulance|ambulancier|transport sanitaire|\bvsl\b", "INTER", "TSU", None, 3),
    (
        r"sos medecin|medecin de garde|medecin de permanence|(?:faire |fais |va |vais )?passer (?:un|le) medecin|"
        r"(?:un |le )?medecin (?:qui )?(?:va|vient|viendra|passera|a domicile|chez vous)(?! vous rappeler| rappeler| vous parler| vous prendre)|"
        r"medecin (?:traitant )?(?:de|pour) passer|envoyer un medecin|"
        r"envoie un medecin|medecin pour (?:qu il )?passe|infirmi\w+ (?:va|passera|viendra)|visite a domicile|"
        r"(?:il|elle) (?:va|vont) passer (?:chez vous|vous voir|dans)|"
        r"medecin (?:qui )?(?:est |sont )?en route|medecin qui (?:peut|va|pourra) (?:se deplacer|passer|venir)",
        "INTER",
        "LIBERAL",
        None,
        3,
    ),
    (
        rf"{_GO}\b.{{0,35}}(?:urgences|hopital|clinique|\bchu\b|\bch\b)|par (?:vos|ses|leurs|tes) propres moyens|"
        r"(?:urgences|hopital) (?:en voiture|par vos|avec (?:lui|elle|votre|vous|son|sa))",
        "ORIENT",
        None,
        "URGENCES",
        3,
    ),
    (
        rf"(?:{_GO}|appelez|appeler|prendre rendez vous|rendez vous|contacter|contactez|propose d y aller)\b.{{0,30}}"
        r"(?:medecin traitant|un medecin|votre medecin|son medecin|le medecin|generaliste|pediatre|cabinet|maison medicale|"
        r"maison de sante|specialiste|psychiatre|sage femme|dentiste|centre de sante|medecin de garde)|"
        r"maison medicale de garde|dentiste de garde|"
        r"(?:consulte|consulter|consultez|soit vue?|etre vue?|soyez vue?)\b.{0,15}(?:aujourd hui|dans la journee|ce soir|"
        r"rapidement|demain|dans les \w+ heures|cette semaine)",
        "ORIENT",
        None,
        "CABINET",
        2,
    ),
    # going there when the place was named just before ("je vous propose d'y aller ce soir")
    (
        r"\b(?:y aller|y passer|l y emmener|l y emmenez|l y conduire|y allez|y alliez)\b.{0,25}"
        r"(?:aujourd hui|ce soir|cette nuit|maintenant|tout de suite|ce matin|cet apres midi|par vos propres moyens|des que)"
        r"|(?:propose|conseille) (?:d y aller|que vous y alliez)",
        "ORIENT",
        None,
        None,
        2,
    ),
    (
        r"je vous (?:prescris|fais une ordonnance|envoie une ordonnance|faxe)|je vais vous prescrire|"
        r"(?:je vais|je vous|on va) (?:vous )?(?:faire|envoyer|faxer|etablir) (?:une|l|votre) ordonnance|"
        r"ordonnance (?:a la pharmacie|par fax|que je (?:vous )?(?:envoie|faxe))",
        "PMT",
        None,
        None,
        2,
    ),
    (
        r"rappelez|nous rappeler|me rappeler|rappeler le (?:15|quinze)|(?:contacter|appeler|appelez|prevenir|prevenez) "
        r"la (?:police|gendarmerie)|surveillez|surveiller|mettez (?:le|la|l) (?:sur le cote|en position)|"
        r"position laterale|allongez|ne (?:lui )?donnez rien|restez a cote|eau froide|sous l eau|ne bougez pas|"
        r"pharmacie de garde|(?:appeler|appelez|composer|composez) le (?:cent quinze|cent dix neuf|115|119)|"
        r"(?:donnez|donner|prenez|prendre|lui donner|continuez|continuer)\b.{0,40}(?:doliprane|paracetamol|dafalgan|"
        r"efferalgan|ibuprofene|advil|spasfon|ventoline|smecta|comprime|sirop|suppositoire|bouffees)|"
        r"pas besoin (?:de|d) (?:secours|ambulance|pompiers|venir|aller)|ca peut attendre",
        "CONSEIL",
        None,
        None,
        1,
    ),
]
# a dispatch said with a pronoun ("c'est moi qui les envoie", "ils sont partis"): the resource is
# the one named just before
ANAPHORIC_SEND = (
    r"\b(?:je|moi qui|on) (?:vous )?(?:les|la|le|l) (?:envoie|envoyer|declenche|fais partir|engage|fais venir)\b|"
    r"\b(?:ils|elles) (?:sont partis|sont en route|arrivent|partent|vont arriver)\b"
)
# the ambulance's stated delay of an hour or more makes the dispatch a same-day one (P2)
# the regulator engages nothing because a crew is already there (PASPLUS): "je n'envoie personne
# d'autre", "les pompiers sont déjà sur place" (not "déjà en route": a dispatch under way)
NOTHING_MORE = (
    r"\b(?:n|ne) (?:envoie|engage|envoyons|engageons|declenche|fais partir) (?:personne|rien) (?:d autre|de plus)\b|"
    r"\b(?:pompiers|secours|ambulanciers) sont deja (?:la|sur place|engages|arrives)\b"
)
# firefighters reaching the patient during the call (a PASPLUS on a fire crew: an immediate dispatch)
CREW_ARRIVING = r"\b(?:pompiers|secours) (?:qui )?(?:arrivent|sont (?:la|deja|arrives))\b"
# a drug prescribed by phone (PMT): an ordonnance, "je vous le prescris", a dose by weight or a
# dosing interval, a tablet to take now
PRESCRIBE = (
    r"\bje vous (?:le |la |les )?prescri|\bje vous fais une ordonnance\b|\bdose (?:poids|de \w+ kilos|pour \w+ kilos)\b|"
    r"\bdose de la pipette\b|\bpipette (?:graduee )?(?:pour|de|a) \w+ kilos\b|"
    r"\b(?:un|deux) comprimes? d \w+ (?:\w+ )?(?:maintenant|ce soir|tout de suite)\b"
)
LATE_ARRIVAL = (
    r"(?:dans|d ici|sous|environ|a peu pres|compter|comptez|attendre|faudra)\s+(?:environ\s+|a peu pres\s+|plus d\s+)?"
    r"(?:une heure|1 heure|1h|une heure et demie|une heure et quart|une heure trente|deux heures|2 heures|trois heures|"
    r"quatre vingt dix minutes|90 minutes|heure et demie)|(?:delai|attente) (?:d|de)\s+(?:environ\s+)?"
    r"(?:une|deux|1|2) heures?|pas avant (?:une|deux) heures?|(?:une|deux) heures? (?:de delai|d attente)"
)
# a dispatch promised for later, in the future or conditional tense ("on vous enverra les
# secours", "je vous enverrais une ambulance"): it holds only if things change
FUTURE_SEND = (
    r"\b(?:enverra|enverrai|enverrons|enverrez|enverront|enverrait|enverrais|enverrions)\b[^?]{0,25}$"
)
# a decision that only holds under a condition ("si ça s'aggrave vous allez aux urgences") is advice
CONDITIONAL = re.compile(
    r"(?:\bsi\b|\bs il\b|\bs ils\b|\ben cas d|\bsinon\b|\bau moindre\b)"
    r"(?!\s+(?:vous voulez|possible|vous pouvez|besoin|vous m entendez|je comprends|j ai bien compris|vous l avez))"
    r"(?:(?!\b(?:mais|d accord|bon|alors|donc|maintenant|et je|et on|et nous|et puis)\b)[^?]){0,70}$"
)
# CPR instructions given by the regulator (a recognised cardiac arrest)
CPR = (
    r"massage cardiaque|\bmassez\b|\bmasser\b|compressions? thoraciques?|"
    r"appuyez (?:fort |bien )?(?:sur (?:son|sa|le|la) (?:thorax|poitrine|sternum)|au milieu de (?:la|sa|son) (?:poitrine|thorax))|"
    r"(?:vos|les) (?:deux )?mains? (?:sur|au milieu de) (?:son|sa|le|la) (?:thorax|poitrine|sternum)|"
    r"main sur son thorax|bouche a bouche|insufflations?|defibrillateur"
)
DEFERRED = (
    r"dans les jours|cette semaine|la semaine|demain|lundi|d ici (?:la fin|quelques jours)|prochains jours|"
    r"pas d urgence a ce qu"
)
SAME_DAY = (
    r"dans la journee|aujourd hui|ce soir|cette nuit|ce matin|cet apres midi|dans l apres midi|maison medicale|"
    r"des que possible|rapidement|tout de suite|maintenant|dans les (?:deux|trois|quatre|2|3|4) heures|de garde\b"
)
NO_DECISION_NEG = r"\b(pas besoin|pas la peine|pas necessaire|inutile|je n envoie pas|on n envoie pas|j envoie pas|on envoie pas|n est pas necessaire)\b"

HISTORY = r"(il|elle|je|on) (est|suis|a|ai) (diabetique|asthmatique|epileptique|cardiaque|hypertendu|hypertendue|enceinte|dialyse)|antecedent|(a|ai) deja (fait|eu)|opere|cancer|alzheimer|parkinson|insuffisan|bronchite chronique|\bbpco\b|diabete|tension|handicap|schizophren|bipolaire|depressi"
TREATMENT = r"(prend|prends|prenait|sous|traite par|a pris|ai pris)\b.{0,40}(kardegic|doliprane|paracetamol|insuline|ventoline|anticoagulant|traitement|medicaments?|cachets?|comprimes?|antidepresseur|anxiolytique|xanax|lexomil|seresta|temesta|lysanxia|levothyrox|previscan|xarelto|eliquis|aspirine)"
_WAY = r"(?:rue|avenue|boulevard|bd|allee|impasse|quai|square|lotissement|residence|hameau|lieu dit|chemin|place|route|cours|cite)"
# a way with a house number ("12 rue ..."), or a named way ("rue de la paix", "avenue jean jaures")
ADDRESS = (
    rf"\b(?!une?\b){NUMBER}\s+(?:bis\s+|ter\s+)?{_WAY}\b(?:\s+[a-z0-9]+){{1,5}}"
    rf"|\b(?<!la )(?<!une )(?<!sur )(?<!en )(?<!de )(?<!dans )(?<!meme )(?<!grande )(?:rue|avenue|boulevard|allee|impasse|residence|lotissement)\s+"
    r"(?:de la|de l|des|du|de|d|jean|victor|general|marechal|president|saint|sainte|charles|louis|jules|paul|pierre)\s+[a-z0-9]+(?:\s+[a-z0-9]+){0,3}"
)
ACCESS = (
    rf"\b{NUMBER}\s*(?:e|eme|ieme|er|ere)?\s+etage|rez de chaussee|digicode|interphone|code (?:de la porte|d entree|porte)?\s*[a-z0-9]+|"
    r"batiment\s+[a-z0-9]+|escalier\s+[a-z0-9]+|porte\s+(?:gauche|droite|[a-z0-9]{1,3}\b)"
)
CITY_QUESTION = (
    r"\b(ville|commune|village|ou (est ce que )?(vous etes|vous habitez|ca se passe|il est|elle est|se trouve|etes vous|"
    r"habitez vous|vous trouvez|est il|est elle|exactement)|vous etes ou|il est ou|elle est ou|c est ou|adresse|"
    r"quel endroit|ou ca)\b"
)
CITY_ANSWER_PREFIX = r"(?<!il )(?<!elle )(?<!on )(?<!qui )(?<!ca )(?<!y )\b(?:a|sur|vers|commune de|ville de|commune d|ville d)\s+"
# statements that place the patient in a town ("on habite à murat", "chez elle à antony", "la
# commune de riom", "en gare de sucy", "gendarmerie d'ussel")
CITY_CONTEXT = (
    r"\b(?:habite|habitons|habitez|habitent|reside|residons|vis|vit|vivons|suis|sommes|est|sont|etes|trouve|trouvons|"
    r"vacances|chez \w+|(?:medecin|generaliste|infirmiere?|pharmacien|sage femme|kine|pompiers?|gendarmes?|policiers?)"
    r")(?: (?!a\b)\w+){0,4} a\s+"
    r"|\b(?:commune|ville|village|bourg|gare|gare routiere|sortie|entree|centre ville)\s+(?:de|d)\s+"
    r"|\b(?:sapeurs?\s+pompiers?|pompiers|gendarmerie|brigade|commissariat|police municipale|centre de secours)\s+(?:de|d)\s+"
)
# a town named as where the patient goes, not where the patient is
DESTINATION = r"(?:urgences|hopital|\bchu\b|\bch\b|clinique|maternite|maison medicale(?: de garde)?|pharmacie|cabinet|dentiste|medecin)\s+(?:\w+\s+)?(?:de|d|a|sur)\s+$"
# words that make a place generic ("la pharmacie de garde", "le parking de l'immeuble")
PLACE_STOP = {
    "garde", "ville", "nuit", "jour", "soir", "matin", "secours", "urgences", "hopital", "samu", "police",
    "pompiers", "mon", "ma", "mes", "son", "sa", "ses", "votre", "vos", "notre", "leur", "quartier", "coin",
    "travail", "famille", "maison", "domicile", "immeuble", "residence", "batiment", "chez", "cette", "une", "des",
}  # fmt: skip
# a named public place or business, findable without a street number
NAMED_PLACE = (
    r"\b(?:place|gare routiere|gare|stade|camping|salle (?:de sport|des fetes|polyvalente|omnisports)|super u|leclerc|"
    r"carrefour|intermarche|auchan|lidl|centre commercial|zone (?:industrielle|artisanale|d activites?)|college|lycee|"
    r"groupe scolaire|mairie|piscine|gymnase|boulangerie|pharmacie|restaurant|hotel|usine|entreprise|abattoir|ehpad|"
    r"maison de retraite|aire d autoroute|route|sentier|plage|port|arret de bus|abribus|tunnel|pont|parc|jardin|square)"
    r"\s+(?:du|de la|des|de|d|le|la|les|au|aux|entre)\s+(?P<name>[a-z]{3,})"
    r"|\b(?:la |sur la |sur l )?(?:departementale|nationale|autoroute|rocade)\s+(?P<road>\w+)"
)
CITY_STOP = {
    "la", "le", "les", "domicile", "maison", "cote", "ecole", "hopital", "urgences", "pied", "terre", "moi", "lui",
    "elle", "vous", "nous", "eux", "travail", "rue", "avenue", "boulevard", "droite", "gauche", "peu", "part", "cause",
    "peine", "chaque", "tout", "cette", "quoi", "quel", "quelle", "cuisine", "salle", "chambre", "etage", "niveau",
    "bout", "coup", "fond", "table", "lit", "bras", "jambe", "tete", "cou", "dos", "ventre", "sol", "rien", "present",
    "priori", "mon", "ma", "mes", "son", "sa", "ses", "notre", "votre", "leur", "des", "une", "un", "deux",
    "trois", "quatre", "cinq", "nouveau", "partir", "regarder", "faire", "voir", "dire", "respirer",
    # words that follow "à", "en", "de" in speech and are not towns
    "train", "vacances", "voiture", "velo", "cheval", "bus", "ville", "campagne", "montagne", "mer", "centre", "face",
    "moment", "instant", "heure", "heures", "midi", "minuit", "soir", "matin", "nuit", "temps", "fois", "jour",
    "jours", "semaine", "mois", "ans", "retraite", "maternite", "pharmacie", "clinique", "cabinet", "garde", "bord",
    "milieu", "exterieur", "interieur", "dehors", "dedans", "haut", "bas", "pres", "plat", "genoux", "fauteuil",
    "canape", "salon", "jardin", "garage", "cave", "grenier", "toilettes", "bain", "douche", "escalier", "balcon",
    "terrasse", "cour", "porte", "fenetre", "parking", "boulot", "bureau", "college", "lycee", "fac", "creche",
    "manger", "boire", "dormir", "parler", "marcher", "tomber", "vomir", "appeler", "attendre", "venir", "aller",
    "prendre", "mettre", "sortir", "rentrer", "monter", "descendre", "combien", "cela", "ceci", "celui", "celle",
    "mal", "bien", "force", "jeun", "plusieurs", "vos", "nos", "leurs", "cet", "ces", "ton", "tes", "toi",
    "urgence", "secours", "samu", "pompiers", "police", "personne", "quelqu", "tous", "toute", "quelque", "autre",
    "meme", "deja", "encore", "toujours", "jamais", "vite", "fait", "juste", "vraiment", "route", "chemin",
    "pleurer", "crier", "mort", "vie", "sang", "forme", "colere", "panique", "chez", "attente", "ligne",
    "telephone", "appareil", "hauteur", "cours", "gros", "petit", "petite", "grand", "grande", "plein", "pleine",
    "communion", "eglise", "fete", "soiree", "anniversaire", "mariage", "reunion", "magasin", "supermarche",
    "usine", "atelier", "chantier", "entreprise", "boulangerie", "restaurant", "hotel", "camping", "stade", "gare",
    "piscine", "plage", "parc", "poste", "arret", "station", "sortie", "entree", "coin", "angle", "intersection",
    "proximite", "etranger", "quinze", "dix", "douze", "vingt", "trente", "cent", "mille", "zero",
    "avoir", "etre", "passer", "aider", "lever", "relever", "rester", "arriver", "laisser", "donner", "savoir",
    "non", "oui", "ouais", "accord", "sur", "sous", "cle", "voila", "merci", "alors", "bon", "bah", "ben", "hein",
    "quai", "place", "dit", "pas", "aussi", "super", "travers", "pieds", "peur", "vrai", "ici", "plus",
    "moins", "tres", "trop", "assez", "comme", "quand", "mais", "donc", "car", "puis", "apres", "avant", "vers",
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


_INTERROGATIVE = (
    r"\b(?:est ce qu|qu est ce qu|avez vous|etes vous|a t il|a t elle|est il|est elle|combien|quel|quelle|quels|"
    r"quelles|comment|pourquoi|depuis quand|c est ou|vous etes ou|il est ou|elle est ou)\b|\bou (?:pas|non)$"
)


@dataclass
class _Seg:
    index: int
    speaker: str | None
    text: str
    folded: str
    start: float
    end: float
    is_regulator: bool | None  # None: unknown
    cmap: list[int] | None = None  # offset in ``text`` of each character of ``folded`` (None: same)

    def orig(self, a: int) -> int:
        """Offset in ``text`` of offset ``a`` of ``folded``."""
        if self.cmap is None:
            return a
        return self.cmap[a] if a < len(self.cmap) else len(self.text)

    def pos(self, orig: int) -> int:
        """Offset in ``folded`` of offset ``orig`` of ``text`` (the next kept character)."""
        return orig if self.cmap is None else bisect.bisect_left(self.cmap, orig)

    def ev(self, a: int, b: int) -> Evidence:
        """Evidence for ``folded[a:b]``: the exact original text it comes from."""
        oa, ob = self.orig(a), (self.orig(b - 1) + 1 if b > a else self.orig(a))
        return Evidence(self.index, self.text[oa:ob].strip(), self.speaker, self.start, self.end)

    def asks_at(self, a: int, b: int) -> bool:
        """Is the span ``[a, b)`` of ``folded`` inside a question? Its sentence ends with "?" and
        is not a statement with a tag ("je vous envoie les secours, d'accord ?")."""
        a, b = self.orig(a), self.orig(max(a, b - 1))
        starts = [self.text.rfind(c, 0, a) for c in ".?!"]
        start = max(starts) + 1
        ends = [i for i in (self.text.find(c, b) for c in ".?!") if i >= 0]
        if not ends or self.text[min(ends)] != "?":
            return False
        sentence = re.sub(r"\s+", " ", fold(self.text[start : min(ends)])).strip()
        return not re.search(
            r"\b(?:d accord|ok|okay|hein|oui|non|c est bon|ca va|vous comprenez|compris|la)$", sentence
        )

    @property
    def is_question(self) -> bool:
        f = self.folded.strip()
        if "?" not in self.text and "." not in self.text:
            # unpunctuated speech (ASR output, transcripts without punctuation): interrogative words
            return bool(re.search(_INTERROGATIVE, f))
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
        clean, cmap = clean_speech(fold(text))
        out.append(_Seg(i, s.speaker, text, clean, s.start, s.end, isreg, cmap))
    return out


# the regulator's recap of what was said, at any point of the call ("donc si je comprends bien
# une douleur dans le bas du dos depuis hier"): a statement, not a question
RECAP = r"\b(?:si je (?:comprends|resume|reprends|recapitule)|si j ai bien compris|donc en resume|je recapitule)\b"


def _caller_side(segs: list[_Seg], opts: RuleOptions) -> list[tuple[_Seg, float]]:
    """Segments whose statements describe the patient, with a confidence weight.

    In an unpunctuated transcript (no "?" anywhere, as ASR often gives) the regulator's turns
    cannot be told from questions ("il a perdu connaissance" asked, then denied), so they count
    only as a recap or when the caller confirms them."""
    out = []
    punctuated = any("?" in s.text for s in segs)
    for i, s in enumerate(segs):
        if s.is_regulator is None or not s.is_regulator:
            out.append((s, 1.0))
        elif not s.is_question and punctuated:
            if opts.regulator_statements:
                out.append((s, 0.6))
        elif (
            i < 6
            and re.search(
                r"vous (m )?appelez|c est (bien )?(ca|cela)|si j ai bien compris|on m a dit", s.folded
            )
            or re.search(RECAP, s.folded)
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
    prev_reg = {}
    last = ""
    for s in segs:
        prev_reg[s.index] = last
        if s.is_regulator:
            last = s.folded
    for s, w in _caller_side(segs, opts):
        # the answer to "il a des antécédents ?" lists history, not the complaint
        history_answer = not s.is_regulator and bool(re.search(HISTORY_QUESTION, prev_reg[s.index]))
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
            if _conditional(s.folded, a):
                continue  # "s'il devient bleu vous rappelez": a hypothetical sign, not a finding
            pre = s.folded[max(0, a - 30) : a]
            if name == "inconscience" and re.search(
                r"appel|telephon|sonn|portable|messagerie|\bporte\b|fixe", pre
            ):
                name, motif, weight = "ne répond pas", "M06.04", 3  # the phone or the door, not the patient
            if history_answer or re.search(HISTORY_CTX, pre):
                weight = weight * 0.3  # a known condition or a treatment's reason, not the complaint
            hed = hedged_at(s.folded, a, b)
            conf = w * (0.6 if hed else 1.0)
            hits.append((name, motif, weight, neg, hed, s.ev(a, b), conf))
    return hits


# a condition named as history or as the reason for a treatment ("il prend un cachet pour son
# arythmie", "il a déjà fait un infarctus")
HISTORY_CTX = (
    r"(?:\bpour (?:mon|ma|mes|son|sa|ses|la|le|les|l|une|un|leur)|traitement (?:pour|contre|de)|traite pour|"
    r"antecedents? (?:de|d)|(?:a|ai|avait|avais) deja (?:fait|eu)|(?:il y a|ca fait) \w+ (?:ans|mois))\s+(?:\w+\s+)?$|"
    r"\bdepuis qu?e?\s+(?:\w+\s+){0,3}$"
)
HISTORY_QUESTION = (
    r"antecedent|\b(?:des|ses|vos|une|leurs) allergies?\b|allergi\w* (?:a des|aux) medicaments|problemes? de sante|maladies?\b|(?:il|elle|vous) (?:a|avez) (?:un|des) traitements?|"
    r"(?:prend|prenez) (?:un traitement|des medicaments|quelque chose)|suivie? pour"
)
# Hub Santé "brûlure grave": face/neck above first degree, or third degree (near a burn mention)
SEVERE_BURN = (
    r"troisieme degre|3e degre|carbonis|insensible|peau (?:toute )?(?:blanche|noire|cartonnee)|"
    r"brul\w* (?:\w+ )?(?:au|du|le|sur le|a la|la) (?:visage|cou|figure)|(?:visage|cou|figure) (?:tout )?brul|"
    r"voies respiratoires"
)
# a bleeding that goes on despite compression, or a large one
SEVERE_BLEEDING = (
    r"beaucoup de sang|vomit du sang beaucoup|caillots|arrete pas de saigner|s arrete pas|ca repart|malgre|"
    r"pisse le sang|flaque|mare de sang|plein de sang|pleine de sang|tout rouge de sang|rouge vif|fistule"
)
# how much blood, in everyday measures ("un bol", "plein le lavabo", "un demi-litre", "abondant")
BLOOD_AMOUNT = (
    r"\b(?:un|une|des|deux|trois|grand|grande|gros|grosse) (?:grand |grande |gros |grosse )?(?:bols?|bassines?|cuvettes?|seaux?|saladiers?|casseroles?)\b|"
    r"\b(?:un|une) (?:demi litre|litre|flaque)|plein (?:le|la|les|l) (?:lavabo|evier|cuvette|bassine|seau|toilettes|sol|lit|baignoire)|"
    r"abondant\w*|\bsang (?:\w+ )?beaucoup\b"
)
# signs of blood loss with shock (pallor, sweats, mottling, a fast pulse or low pressure)
SHOCK_SIGNS = (
    r"\bpale\b|tout blanc|toute blanche|blanche? comme (?:un linge|un cachet|une feuille|un mort)|(?:il|elle|je) transpire|en sueurs?|"
    r"marbr|tension (?:a )?(?:huit|sept|six|neuf|[6-9])\b(?! heures)|(?:pouls|frequence|c(?:oe|œ)ur) (?:\w+ )?(?:a )?(?:cent|1[2-9]\d)\b"
)
_TRAUMA = ("M02.06", "M02.07", "M02.08", "M02.09", "M02.10")
# findings that name an injury mechanism (a fall, a blow, a cut, a crash)
_INJURY = {
    "coups", "traumatisme bénin", "traumatisme sérieux", "accident de la route", "plaie",
    "plaie par arme", "accident de travail ou chute",
}  # fmt: skip
# a haemorrhage (Hub Santé M02.02/M03.19: spurting, soaking through the compression, tourniquet)
UNCONTROLLED_BLEEDING = (
    r"\bgicl|(?:par|en) jets?\b|hemorragie (?:importante|massive|grave|abondante)|\bgarrot|"
    r"(?:passe|traverse) (?:a travers|le torchon|la serviette|le tee shirt|le linge|le pansement)|"
    r"compression (?:ne )?suffi(?:t|sait) pas"
)
# a bleeding said to be heavy or lasting ("ça saigne énormément", "ça arrête pas")
HEAVY_BLEEDING = r"saign\w* (?:\w+ )?(?:enormement|beaucoup|abondamment|fort)|(?:ca )?(?:s )?arrete pas|plein (?:le|la|sa|son)|du sang partout|sang plein"
# reported gravity signs of a trauma, by kind (shock, vital signs, neurology, abdomen, consciousness)
TRAUMA_GRAVITY = (
    r"\bpale\b|tout blanc|toute blanche|en sueurs?|\bsueurs?\b|marbr|\bsoif\b",
    r"tachycard|pouls (?:\w+ )?(?:a )?(?:cent|1[2-9]\d)|tension (?:a )?(?:huit|sept|six|neuf|[6-9])\b(?! heures)|"
    r"saturation (?:\w+ )?(?:a )?(?:quatre vingt (?:cinq|six|sept|huit|neuf)\b|quatre vingt\b(?! (?:dix|onze|douze|treize|quatorze|quinze|seize))|8\d\b)",
    r"(?:sent|sens) plus (?:ses|mes|les) (?:jambes|bras|pieds)|(?:sent|sens) plus rien|paralys|bouge plus (?:les|ses) jambes|"
    r"sang (?:\w+ ){0,2}(?:de l|des|par l|par les|dans l) oreilles?",
    r"ventre (?:\w+ )?(?:dur|tendu|se tend)",
    r"glasgow (?:a |de )?(?:[3-9]|1[0-3]|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize)\b|(?:repond|reagit) (?:pas|plus) aux? (?:ordres|questions|stimul)",
    r"(?:mal|du mal) (?:pour|a) respirer|respire (?:mal|vite)",
)
# a burn that meets the nomenclature's severity criteria, said anywhere in the call
SEVERE_BURN_ANY = (
    r"troisieme degre|3e degre|carbonis|cartonn|comme du carton|insensible|(?:sent|sens) (?:rien|plus rien)|"
    r"peau (?:toute )?(?:blanche|noire)"
)
# how an injury happened, in the caller's words
INJURY_MECHANISM = (
    r"\btombee?s?\b|\bchute\b|cogne|percut|renverse|\bcoupee?s?\b|entaill|vitre|\bverre\b|bouteille|helice|"
    r"couteau|trancheuse|guidon|projetee?"
)
FACE_NECK = r"\b(?:visage|figure|face|cou|joue|front|menton|nez|levres?|oreilles?)\b"


def _face_or_neck(text: str) -> bool:
    """The face or neck said as burnt, not denied ("pas le visage", "le visage rien")."""
    return any(
        not re.search(r"\b(?:pas|non|ni|sauf)\b(?: \w+){0,2}\s*$", text[max(0, m.start() - 16) : m.start()])
        and not re.match(r"\s*(?:\w+ )?(?:rien|epargnee?s?|intacte?s?)\b", text[m.end() : m.end() + 20])
        for m in re.finditer(FACE_NECK, text)
    )


BLISTERS = r"cloques?|bulles?|deuxieme degre|second degre|2e degre|peau (?:qui )?(?:part|s en va|pele)"


def _opening(segs: list[_Seg]) -> set[int]:
    """Segments that state why the call is made: the caller's first two turns of more than a
    greeting and the regulator's opening recap ("vous appelez pour votre fils qui ne se réveille pas ?")."""
    out: set[int] = set()
    n_caller = n_reg = 0
    for s in segs:
        if s.is_regulator:
            n_reg += 1
            if n_reg <= 3 and re.search(
                r"vous (?:m |nous )?appelez|c est (?:bien )?ca|si j ai bien compris", s.folded
            ):
                out.add(s.index)
        elif len(s.folded.split()) >= 4:  # "oui bonjour" does not say why
            n_caller += 1
            if n_caller <= 2:
                out.add(s.index)
    return out


def _pick_motif(hits, segs: list[_Seg], age_years: int | None = None) -> FieldValue | None:
    """The motif: each finding votes for its code with its weight (three mentions at most, those
    that say why the call is made count half again), then the annotation guide's tie-breakers
    refine the winner (see :func:`_refine_motif`)."""
    opening = _opening(segs)
    score: dict[str, float] = {}
    ev: dict[str, list[Evidence]] = {}
    seen: dict[str, int] = {}
    flags: set[str] = set()
    opening_flags: set[str] = set()
    for name, motif, weight, neg, _hed, e, conf in hits:
        if neg:
            continue
        flags.add(name)
        if e.segment in opening:
            opening_flags.add(name)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 3:  # repetition is not severity: at most three mentions count
            continue
        score[motif] = score.get(motif, 0.0) + weight * conf * (1.5 if e.segment in opening else 1.0)
        ev.setdefault(motif, []).append(e)
    if not score:
        return None
    if len(score) > 1 and not flags & {"autre douleur"}:
        score.pop("M03.22", None)  # "autre douleur" only when nothing more specific is said
    best = max(score, key=lambda k: (score[k], k))
    text = " ".join(s.folded for s in segs if not s.is_regulator)
    cpr = _cpr(segs) is not None
    refined = _refine_motif(best, score, flags, text, age_years, cpr, frozenset(opening_flags))
    if refined != best:
        ev[refined] = ev.get(refined) or ev[best]
        score[refined] = max(score.get(refined, 0.0), score[best])
    total = sum(score.values())
    return FieldValue(refined, tuple(ev[refined][:3]), min(1.0, score[refined] / total + 0.2))


def _refine_motif(
    best: str,
    score: dict[str, float],
    flags: set[str],
    text: str,
    age: int | None,
    cpr: bool,
    opening_flags: frozenset[str] = frozenset(),
) -> str:
    """The annotation guide's tie-breakers (``data_cards/samu_forms.md``) on the voted motif:
    a vital sign wins over its cause when it dominates (CPR, or apnoea in an unconscious patient;
    respiratory distress over allergy); altered consciousness is coded by its cause when one is
    stated; alcohol with signs (vomiting, drowsiness, a minor) is an acute intoxication; an
    intoxication is accidental for a child or a dosing error; a bleeding is coded by its context
    (nose, pregnancy, trauma, severity); a trauma with gravity signs is grave; a burn of the face
    or neck or third degree is severe; fever in a chronic respiratory patient is a breathing
    problem; an injury after a fall is coded as the injury, not as relevage."""
    minor = age is not None and age < 18
    # severity said near a bleeding mention
    severe_bleeding = rf"(?:saign|\bsang\b|vomi)[^?]{{0,60}}(?:{SEVERE_BLEEDING})|(?:{SEVERE_BLEEDING})[^?]{{0,40}}(?:saign|\bsang\b)"
    child = age is not None and age < 12
    if cpr:
        return "M01.01"  # the regulator gives CPR instructions
    if "ne répond pas" in opening_flags and (best.startswith("M01") or best == "M03.06"):
        return "M06.04"  # nobody has seen the patient: the feared arrest is not a finding
    if "ne respire plus" in flags and "inconscience" in flags and best in ("M01.01", "M01.02", "M06.03"):
        return "M01.01"
    if (
        best in ("M01.03", "M03.12", "M03.13")
        and flags & {"tétanie", "spasmes des mains"}
        and not flags & {"inconscience", "ne respire plus", "arrêt cardio-respiratoire"}
    ):
        # "she can't breathe" with cramped, tingling hands is a hyperventilation attack, not a
        # distress: the tetany signs name the cause of the breathlessness
        return "M03.17"
    if best == "M03.15" and "détresse respiratoire" in flags:
        return "M01.03"  # the nomenclature's own comment on allergy
    if best.startswith("M05") and flags & {"inconscience", "détresse respiratoire", "ne respire plus"}:
        best = max((c for c in score if c.startswith("M01")), key=score.get)  # a social case in distress
    drugs = "intoxication médicamenteuse" in flags
    if best == "M01.02" and not (drugs and "ivresse" in flags):
        # altered consciousness is coded by its cause when one cause is stated (two possible
        # causes, alcohol and drugs, leave it unconfirmed: the guide's "only suspected")
        for code, names in (
            ("M04.04", {"ivresse"}),
            ("M04.01", {"intoxication médicamenteuse", "sevrage"}),
            ("M04.02", {"intoxication accidentelle"}),
            ("M02.03", {"hypothermie, coup de chaleur"}),
            ("M03.08", {"signes d'AVC"}),
            ("M03.07", {"convulsions"}),
        ):
            cause = sum(
                score.get(c, 0.0) for c in ("M04.01", "M04.02", "M04.03", "M02.03", "M03.08", "M03.07")
            )
            if flags & names and cause >= 0.4 * score["M01.02"]:
                best = code
                break
        else:
            if flags & {"traumatisme sérieux", "accident de la route", "plaie par arme"}:
                best = "M02.08"
    if best in ("M04.03", "M04.04") and drugs and "intoxication accidentelle" not in flags:
        best = "M04.01"  # drugs taken with alcohol: alcohol is not the only agent
    if best == "M04.03" and (minor or flags & {"trouble digestif", "inconscience", "confusion"}):
        best = "M04.04"
    if best in ("M04.01", "M04.02"):
        deliberate = "trouble psychiatrique" in flags or re.search(
            r"toute la boite|toutes? (?:la|les) (?:boites?|plaquettes?)|expres|volontaire|lettre|en finir",
            text,
        )
        if child or "intoxication accidentelle" in flags and not deliberate:
            best = "M04.02"
        elif deliberate:
            best = "M04.01"
    if (
        flags & {"grossesse", "post-partum"}
        and "saignement" in flags
        and best not in ("M03.01",)
        and not best.startswith("M01")
    ):
        if opening_flags & {"grossesse", "saignement", "post-partum"}:
            return "M03.04"  # a bleeding in pregnancy or after a delivery
    if "grossesse" in opening_flags and best in ("M03.09", "M03.11", "M03.14", "M03.20", "M03.21", "M03.22"):
        best = "M03.02"  # a complaint of a woman who calls as pregnant is an obstetric problem
    if best == "M02.06" and "trouble psychiatrique" in flags:
        best = "M03.16"  # cuts in a suicidal context are self-harm
    injury = bool(flags & _INJURY) or bool(re.search(INJURY_MECHANISM, text))
    if (
        injury
        and flags & {"saignement", "épistaxis"}
        and best not in ("M02.04", "M02.05", "M02.09", "M02.10")
        and not best.startswith("M01")
        and re.search(UNCONTROLLED_BLEEDING, text)
    ):
        return "M02.02"  # a haemorrhage from a wound, not controlled by compression
    if (
        opening_flags & (_INJURY | {"chute"})
        and opening_flags & {"saignement", "épistaxis"}
        and best in ("M02.01", "M03.18")
        and re.search(HEAVY_BLEEDING, text)
    ):
        return "M02.01"  # the bleeding of an injury is the complaint
    if best == "M02.01":
        trauma = {c: score.get(c, 0.0) for c in _TRAUMA if score.get(c)}
        if trauma:
            best = max(trauma, key=trauma.get)
        elif "saignement gynécologique" in flags:
            best = "M03.03"
        else:
            severe = re.search(severe_bleeding, text) or re.search(UNCONTROLLED_BLEEDING, text)
            best = "M03.19" if severe else "M03.18"
    elif (
        best == "M03.18"
        and "vomissement de sang" in flags
        and "épistaxis" not in flags  # blood spat after a nosebleed is the nosebleed
        and (
            re.search(severe_bleeding, text)
            # a frank haematemesis: blood vomited by the bowlful, or with signs of shock
            or re.search(rf"(?:vomi|\bsang\b|hematemese)[^?]{{0,80}}(?:{BLOOD_AMOUNT})", text)
            or re.search(SHOCK_SIGNS, text)
        )
    ):
        best = "M03.19"
    if best == "M06.03":
        injuries = {c: score.get(c, 0.0) for c in _TRAUMA if score.get(c)}
        if injuries and max(injuries.values()) >= 0.4 * score["M06.03"]:
            best = max(injuries, key=injuries.get)  # an injury after the fall is coded as the injury
        elif "perte de connaissance" in flags:
            best = "M03.10"
    if best == "M03.10" and opening_flags & _INJURY and "perte de connaissance" in flags:
        best = "M02.07"  # a knock-out after a blow or a crash: a trauma with loss of consciousness
    if best == "M03.22" and opening_flags & {"chute", "coups", "accident de la route"}:
        best = "M02.06"  # a pain after a fall or a blow is an injury
    if best == "M02.06" and flags & {"traumatisme sérieux", "accident de la route", "plaie par arme"}:
        best = "M02.07"
    gravity = flags & {
        "inconscience",
        "confusion",
        "détresse respiratoire",
        "signes de lutte respiratoire",
        "trouble digestif",
    }
    if re.search(
        r"(?:tombe|chute)\w* (?:du|de la|de l|d un|d une|de) (?:toit|fenetre|balcon|\w+ etage|echelle|echafaudage|hauteur)|"
        r"\b(?:[3-9]|1\d|trois|quatre|cinq|six|sept|huit|neuf|dix) metres\b",
        text,
    ):
        gravity = gravity | {"hauteur"}
    gravity |= {f"signe {k}" for k, pat in enumerate(TRAUMA_GRAVITY) if re.search(pat, text)}
    if best in ("M02.06", "M02.07") and len(gravity) >= 2:
        best = "M02.08"  # a trauma with reported gravity signs
    if best == "M02.05" and (
        re.search(rf"brul[^?]{{0,60}}(?:{SEVERE_BURN})|(?:{SEVERE_BURN})[^?]{{0,40}}brul", text)
        or re.search(SEVERE_BURN_ANY, text)
        or _face_or_neck(text)
        and re.search(BLISTERS, text)
    ):
        best = "M02.04"  # third degree, or the face or neck above first degree
    if "exposition à la chaleur" in flags and best in ("M01.02", "M02.05", "M03.11", "M03.14", "M03.21"):
        best = "M02.03"  # signs after sun or heat exposure are a heat illness
    if best == "M03.14" and re.search(
        r"\bbpco\b|asthm|bronchiolite|emphyseme|insuffisan\w* respiratoire", text
    ):
        best = "M03.12"
    elif best == "M03.12" and "infection" in flags:
        best = "M03.14"
    return best


class _Span(NamedTuple):
    """A ``(start, end)`` span with the ``re.Match`` accessors."""

    a: int
    b: int

    def start(self) -> int:
        return self.a

    def end(self) -> int:
        return self.b


def age_mentions(s: _Seg):
    """Every "<number> <unit>" of a segment as ``(span, n, unit)`` (``span.start()``,
    ``span.end()``), the unit written the way form ages are (``ans``, ``mois``, ``jours``: weeks
    become days, as Hub Santé ages are in years, months or days). Numbers in words are parsed,
    fillers inside them skipped ("soixante heu treize ans" → 73 ans)."""
    txt = without_fillers(s.folded)
    for a, b, n in number_spans(txt):
        m = _AGE_UNIT.match(txt, b)
        if not m:
            continue
        unit = AGE_UNITS[m.group(1)]
        if unit == "semaines":
            n, unit = n * 7, "jours"
        yield _Span(a, m.end()), n, unit


AGE_UNITS = {
    "ans": "ans", "an": "ans", "balais": "ans", "berges": "ans", "piges": "ans", "mois": "mois",
    "semaine": "semaines", "semaines": "semaines", "jour": "jours", "jours": "jours",
}  # fmt: skip
_AGE_UNIT = re.compile(r"\s*(ans|an|balais|berges|piges|mois|semaines?|jours?)\b")
# the regulator asks the patient's age (or birth year)
AGE_QUESTION = re.compile(
    r"quel age|son age|votre age|ton age|\bage (?:a peu pres|approximatif)|(?:annee|date) de naissance|"
    r"\bnee? (?:en )?quelle annee|\bnee? quand|(?:il|elle|vous|tu) (?:a|as|avez) combien|combien (?:il|elle) a"
)
# a question about the caller's own age ("vous avez quel âge ?"): the patient's only when the
# caller is the patient
AGE_QUESTION_CALLER = re.compile(r"\b(?:vous avez|tu as|vous etes ne|tu es ne)\b|\b(?:votre|ton) age\b")
# the caller's own age asked as such: "tu as quel âge toi ?", or next to a question about the patient's
AGE_OF_CALLER = re.compile(
    r"\b(?:vous avez|tu as|t as) (?:quel age|combien)|\bquel age (?:vous avez|tu as|avez vous|as tu)\b|"
    r"\b(?:votre|ton) age\b|\b(?:vous etes|tu es) nee? (?:en|quand)"
)
AGE_OF_THIRD = re.compile(
    r"\b(?:il|elle) a (?:quel age|combien)|\bquel age (?:il|elle) a\b|\b(?:son|leur) age\b"
)
APPROX_AGE = {
    "dizaine": 10, "vingtaine": 20, "trentaine": 30, "quarantaine": 40, "cinquantaine": 50,
    "soixantaine": 60, "septantaine": 70, "octantaine": 80, "nonantaine": 90,
}  # fmt: skip
_APPROX = re.compile(
    rf"\b(?:une|la|d une|sa)\s+(?:petite\s+|bonne\s+)?({'|'.join(APPROX_AGE)})\b"
    r"(?!\s+(?:de|d)\s+(?!annees?\b|ans\b)\w+)"  # "une dizaine de minutes" is not an age
)
# an age that belongs to a past event ("quand elle avait seize ans", "depuis ses quinze ans")
_PAST_AGE = re.compile(
    r"(?:\bquand\b|\blorsqu|\bdepuis ses\b|\bdepuis l age de\b|\ba l age de\b)[^?]{0,40}$"
    r"|\b(?:avait|avais|avaient)\s*$"
)
_PAST_AFTER = re.compile(
    r"^\s*(?:ans\s+|an\s+)?(?:et\s+)?(?:il|elle|j|je|on|tu)\s+(?:avait|avais|a eu|ai eu|etait|etais|a fait|ai fait|a commence|ai commence)\b"
)
# "il a vingt ans" (the verb) vs "moi à vingt ans" (the preposition)
_PREPOSITION_A = re.compile(r"(?:^|\b(?:moi|toi|lui|ca|deja|meme|fait|et|jusqu))\s+a\s*$|^\s*a\s*$")
# someone else's age: the patient's relatives, siblings named by rank
_RELATIVE = (
    r"(?:petite?\s+|grande?\s+)?(?:fils|fille|filles|enfants?|mari|femme|epouse|epoux|frere|soeur|s\w ur|pere|"
    r"mere|copain|copine|compagnon|compagne|petit fils|petite fille|ami|amie|bebe)\b"
)
_OTHER_PERSON = re.compile(
    rf"\b(?:son|sa|ses|leur|leurs)\s+{_RELATIVE}"
    r"|\b(?:le|la|l)\s+(?:premier|premiere|deuxieme|second|seconde|troisieme|grand|grande|aine|ainee|autre|"
    r"cadet|cadette)\b"
)
# when the caller is the patient, "mon fils", "votre mari" are someone else
_OTHER_PERSON_SELF = re.compile(rf"\b(?:mon|ma|mes|votre|vos|ton|ta|tes)\s+{_RELATIVE}")
# the caller's own age ("moi j'ai soixante-huit ans")
_FIRST_PERSON = re.compile(r"\b(?:j ai|j avais)\s*$")
_BAD_AGE_CTX = re.compile(
    r"(?:depuis|il y a|ca fait|y a|pendant|pour|tous les|toutes les|chaque|apres|avant|fois|enceinte de|"
    r"\bdans(?! les))\s*$"
)
_GOOD_AGE_CTX = re.compile(
    r"(?:\bde|\bai|\bas|\bagee?s? de|\bage de|\bage|\bfait|\bfete ses|\bvers|environ|a peu pres|\bla|"
    r"\bdans les|\beu|\bbientot|\bva sur|\bpresque|\bpile)\s*$"
)
# a correction said with words between the two values ("cinquante-huit ans elle dit non attendez
# cinquante-quatre", "vingt-deux ans non ça c'est l'autre lui c'est dix-neuf")
_CORRECTION_WORD = re.compile(r"\b(?:non|pardon|je me trompe|je veux dire|plutot|enfin non)\b")
# a person named as the source of what is said, not its subject ("sa femme dit soixante-sept ans")
_SOURCE = re.compile(
    r"\b(?:son|sa|ses|leur|leurs)\s+(?:\w+\s+)?\w+\s+(?:me\s+|m\s+)?(?:dit|disent|dirait|a dit|ont dit|pense|pensent|croit|"
    r"croient|affirme)(?:\s+que|\s+qu)?\b"
)
_CORRECTION = re.compile(
    r"^\s*(?:ans|an|mois)?\s*(?:non|pardon|non pardon|enfin|plutot|ou plutot|je veux dire|enfin non|non attendez|"
    r"attendez|attends|non attends)\b"
)
# a birth year: "née en quarante-sept", "né le douze mars quatre-vingt-sept", "il est de deux mille neuf"
_BIRTH = re.compile(r"\b(?:nee?s?|naissance|annee)\s+(?:en\s+|le\s+\w+(?:\s+\w+)?\s+|de\s+)?$")
_MONTHS = r"janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
_BIRTH_DE = re.compile(r"\b(?:il est|elle est|je suis|il etait|elle etait|c est)\s+de\s+$")


@dataclass
class _AgeCand:
    tier: int  # 0: answer to the age question, 1: stated age, 2: weak context, 3: not the patient's
    seg: int
    pos: int
    n: int
    unit: str
    explicit: bool  # said with a unit, as an approximation or as a birth year
    ev: Evidence


def _birth_year_age(v: int, today: datetime.date) -> int | None:
    """Age from a birth year said in full ("deux mille neuf") or with two digits ("cinquante-six"
    = 1956), by year difference (the guide's convention)."""
    if 1890 <= v <= today.year:
        year = v
    elif 0 <= v <= 99:
        year = 1900 + v
        if today.year - year > 110:
            year += 100
    else:
        return None
    age = today.year - year
    return age if 0 <= age <= 115 else None


def _segment_ages(
    s: _Seg,
    today: datetime.date,
    answer: bool,
    self_caller: bool,
    pregnancy: bool = False,
    prev_txt: str = "",
    year_question: bool = False,
    caller_age: bool = False,
) -> list[_AgeCand]:
    """Age candidates of one segment. ``answer``: the segment answers the regulator's age
    question, so a bare number ("quatre-vingt-trois") or a two-digit year ("je suis de
    cinquante-neuf") is an age too. ``pregnancy``: the regulator just asked about a pregnancy,
    so months and weeks are its term. ``prev_txt``: the previous turn (folded), whose subject a
    turn that starts with an age continues ("votre fils ?" "huit ans"). ``year_question``: the
    regulator asked for a birth year, so a bare two-digit answer is a year ("cinquante-six").
    ``caller_age``: the regulator asked the caller's own age ("tu as quel âge toi ?") and the
    caller is not the patient, so the ages said are not the patient's."""
    txt = without_fillers(s.folded)
    spans = number_spans(txt)
    out: list[_AgeCand] = []
    skip: set[int] = set()
    superseded = {
        k
        for k in range(len(spans) - 1)
        if _CORRECTION.match(between := txt[spans[k][1] : spans[k + 1][0]])
        and len(between.split()) <= 7
        or _CORRECTION_WORD.search(between)
        and len(between.split()) <= 12
        # a restart: a round number, a hesitation, then the whole number ("cinquante euh cinquante-deux")
        or FILLERS.search(fold(s.text[s.orig(spans[k][1]) : s.orig(spans[k + 1][0])]))
        and not between.strip()
        and spans[k][2] % 10 == 0
        and spans[k][2] < spans[k + 1][2] < spans[k][2] + 10
    }
    for k, (a, b, n) in enumerate(spans):
        if k in superseded:
            continue  # "trente-cinq non trente-six": the corrected value counts
        w0 = max(0, a - 60)
        left = txt[w0:a]
        right = txt[b : b + 40]
        unit_m = _AGE_UNIT.match(right)
        if re.match(rf"\s*(?:{_MONTHS})\b", right):
            continue  # the day of a date ("né le trois mars ...")
        birth = _BIRTH.search(left)
        birth_de = _BIRTH_DE.search(left)
        year_answer = answer and not unit_m and (n >= 1900 or year_question and 10 <= n <= 99)
        if not unit_m and (birth or birth_de and (n >= 1900 or answer and n >= 10) or year_answer):
            age = _birth_year_age(n, today)
            if age is not None:
                m0 = birth or birth_de
                out.append(
                    _AgeCand(
                        0 if answer else 1,
                        s.index,
                        a,
                        age,
                        "ans",
                        True,
                        s.ev(w0 + m0.start() if m0 else a, b),
                    )
                )
            continue
        rng = re.search(r"\bentre\s+$", left) and re.match(r"\s*et\s+\D{3,40}?\b(ans|mois)\b", right)
        nxt = spans[k + 1] if k + 1 < len(spans) else None
        # "quarante-cinq cinquante ans": a range said without "entre" (values five or more apart;
        # "quarante euh quarante et un ans" is a restart)
        bare_range = (
            not unit_m
            and nxt is not None
            and not txt[b : nxt[0]].strip()
            and 5 <= nxt[2] - n <= 20
            and _AGE_UNIT.match(txt, nxt[1])
        )
        if rng or bare_range:
            unit = (
                rng.group(1) if rng else AGE_UNITS[_AGE_UNIT.match(txt, nxt[1]).group(1)]
            )  # the lower bound
            skip.add(k + 1)
        elif k in skip:
            continue
        elif unit_m:
            unit = AGE_UNITS[unit_m.group(1)]
        elif answer and not re.fullmatch(r"une?", txt[a:b]):
            unit = "ans"  # a bare number answering the age question
        elif (
            n >= 10
            and re.search(r"\b(?:a|ai|as|avez)\s+eu\s+$", left)
            and re.match(r"\s*(?:$|en|le|au|cette|ce|hier|il y a|mais|et|la semaine|le mois)\b", right)
        ):
            unit = "ans"  # "il a eu cinquante-cinq en janvier"
        else:
            continue
        if unit in ("mois", "semaines") and (
            pregnancy or re.match(r"\s*\w+\s+(?:de grossesse|d amenorrhee)", right)
        ):
            continue  # "enceinte de neuf mois", "trente-neuf semaines": a term, not an age
        if unit == "semaines":
            n, unit = n * 7, "jours"
        if (
            unit == "ans"
            and not 0 < n <= 115
            or unit == "mois"
            and not 0 < n <= 36
            or unit == "jours"
            and not 0 < n <= 60
        ):
            continue
        if (
            _BAD_AGE_CTX.search(left)
            or "depuis" in left.split()[-3:]
            or re.search(r"\b(?:pas|plus)\s+$", left)
        ):
            continue  # a duration, or a denied value ("elle a pas trois ans")
        clause = _SOURCE.sub(" ", re.split(r"\?|\bmais\b|\bet puis\b|\balors\b", left)[-1])
        ev_end = b + unit_m.end() if unit_m else b
        if (
            _PAST_AGE.search(clause)
            or _PAST_AFTER.match(right[unit_m.end() if unit_m else 0 :])
            and re.search(r"\ba\s+$", left)
        ):
            tier = 3  # the age at a past event is not the patient's age now
        elif _PREPOSITION_A.search(left[-15:]):
            tier = 3 if re.search(r"\b(?:moi|toi|lui|deja|meme)\s+a\s+$", left) else 2
        elif (
            _OTHER_PERSON.search(clause[-45:])
            or _FIRST_PERSON.search(left[-12:])
            and not self_caller
            or self_caller
            and _OTHER_PERSON_SELF.search(clause[-45:] if len(left.split()) > 3 else prev_txt + " " + left)
        ):
            tier = 3
        elif answer:
            tier = 0
        elif re.search(r"\b(?:aura|va avoir|vais avoir)\s+$", left):
            tier = 2  # a coming birthday
        elif _GOOD_AGE_CTX.search(left):
            tier = 1
        else:
            tier = 2
        if unit == "jours" and tier == 2:
            continue  # "un ou deux jours": a duration unless said as an age ("un bébé de dix jours")
        out.append(_AgeCand(tier, s.index, a, n, unit, bool(unit_m), s.ev(a, ev_end)))
    for m in _APPROX.finditer(txt):
        left = txt[max(0, m.start() - 45) : m.start()]
        if _OTHER_PERSON.search(left) or _FIRST_PERSON.search(left[-12:]) and not self_caller:
            tier = 3
        else:
            tier = 0 if answer else 1
        cand = _AgeCand(
            tier, s.index, m.start(), APPROX_AGE[m.group(1)], "ans", True, s.ev(m.start(), m.end())
        )
        out.append(cand)
    if caller_age:
        out = [replace(c, tier=3) for c in out]
    if answer and any(c.tier == 0 and c.explicit for c in out):
        # within an answer, a value said with its unit ("quarante euh quarante et un ans") or an
        # approximation wins over a bare number said on the way
        out = [c for c in out if c.tier != 0 or c.explicit]
    return out


def _age(
    segs: list[_Seg], today: datetime.date | None = None, self_caller: bool = False
) -> FieldValue | None:
    """The patient's age: the answer to the regulator's age question first, then an age stated in
    a clear context ("ma fille de seize ans", "il a quatre-vingts ans", "née en quarante-sept",
    counted from ``today``, the call date), then any "<number> ans". Durations ("depuis trois
    jours"), ages at a past event ("quand elle avait seize ans") and other people's ages ("son fils
    il a cinq ans"; the caller's own age unless ``self_caller``) are left out. Approximations give
    the round number ("la quarantaine" → 40 ans), ranges their lower bound, self-corrections the
    corrected value, numbers broken by fillers their whole value ("soixante heu treize" → 73)."""
    today = today or datetime.date.today()
    cands: list[_AgeCand] = []
    callers = [s.speaker for s in segs if s.is_regulator is False]
    first_caller = callers[0] if callers else None
    third_asked = any(s.is_regulator and AGE_OF_THIRD.search(s.folded) for s in segs)
    for i, s in enumerate(segs):
        answer = caller_age = False
        if s.is_regulator is False and i and segs[i - 1].is_regulator:
            prev = segs[i - 1].folded
            q = AGE_QUESTION.search(prev)
            about_caller = q and AGE_QUESTION_CALLER.search(prev[max(0, q.start() - 25) : q.end() + 5])
            answer = bool(q) and (self_caller or not about_caller)
            if s.speaker != first_caller:
                answer = bool(q)  # the patient took the phone: "vous" is the patient
            elif q and not self_caller and (m := AGE_OF_CALLER.search(prev)):
                # the caller's own age, asked as such or beside the patient's age
                caller_age = third_asked or bool(re.match(r"\s*(?:toi|vous meme)\b", prev[m.end() :]))
        prev_txt = segs[i - 1].folded if i else ""
        pregnancy = bool(re.search(r"enceinte|grossesse|\bterme\b", prev_txt + " " + s.folded))
        year_q = answer and bool(re.search(r"annee|\bnee? (?:en|quand)|date de naissance", prev_txt))
        cands += _segment_ages(s, today, answer, self_caller, pregnancy, prev_txt, year_q, caller_age)
    cands = [c for c in cands if c.tier < 3]
    if not cands:
        return None
    best = min(cands, key=lambda c: (c.tier, c.seg, c.pos))
    same = [c.ev for c in sorted(cands, key=lambda c: (c.seg, c.pos)) if (c.n, c.unit) == (best.n, best.unit)]
    conf = {0: 0.9, 1: 0.85, 2: 0.6}[best.tier]
    if len(same) > 1:
        conf = min(1.0, conf + 0.1)
    return FieldValue(f"{best.n} {best.unit}", tuple(dict.fromkeys(same))[:3], conf)


def _sex(segs: list[_Seg], caller_type: str | None) -> FieldValue | None:
    """The patient's sex from how the patient is named and spoken of.

    A relative or person named as the patient ("c'est pour mon grand-père", "une femme de
    quarante ans", "ma voisine elle est tombée") weighs most, above all in the turns that say why
    the call is made; people named in passing ("sa maman", "le petit de ma voisine", "avec ma
    femme") weigh little. Pronouns as the subject of a clinical verb ("il respire", "elle est
    tombée") add up. When the caller is the patient, the regulator's "madame"/"monsieur" and the
    caller's own agreement ("je suis tombée", "vous êtes migraineuse") decide. A pregnancy means a
    woman. Too close a call gives no value."""
    f_rel = re.compile(
        rf"\b(ma|votre|ta|une|la|cette)\s+(?:petite\s+|jeune\s+|vieille\s+|pauvre\s+)?({RELATIONS_F}|cliente|jeune femme|"
        r"jeune fille|femme|fille|gamine|personne agee|vieille dame|coloc|colocataire)\b"
        r"|\bmy (?:daughter|wife|mother|mum|mom|sister|girlfriend)\b"
    )
    m_rel = re.compile(
        rf"\b(mon|votre|ton|un|le|ce)\s+(?:petit\s+|jeune\s+|vieux\s+|pauvre\s+)?({RELATIONS_M}|client|jeune homme|"
        r"homme|gars|type|mec|gamin|garcon|jeune garcon|apprenti|eleve|joueur|conducteur|coloc|colocataire|"
        r"vieux monsieur)\b|\bmy (?:son|husband|father|dad|brother|boyfriend)\b"
    )
    tied_before = re.compile(
        r"\b(?:c est pour|pour|j appelle pour|appelle pour|concerne|c est|il y a|y a|on a|j ai)\s*$"
    )
    tied_after = re.compile(
        r"\s+(?:qui|il|elle|est|a|s est|ne|n|de \w+ ans|d (?:environ )?\w+ ans|fait|respire|saigne)\b"
    )
    passing = re.compile(r"\b(?:de|du|d|chez|avec|par|sur|que|a|sa|son|ses|leur)\s*$")
    opening = _opening(segs)
    self_call = caller_type == "SUJET"
    score = {"F": 0.0, "M": 0.0}
    ev: dict[str, list[Evidence]] = {"F": [], "M": []}

    def add(sex: str, w: float, e: Evidence) -> None:
        score[sex] += w
        ev[sex].append(e)

    for s in segs:
        op = 1.5 if s.index in opening else 1.0
        for sex, pat in (("F", f_rel), ("M", m_rel)):
            for m in pat.finditer(s.folded):
                art, word = m.group(1), m.group(2)
                left = s.folded[max(0, m.start() - 20) : m.start()]
                if word in ("coloc", "colocataire"):
                    # epicene: the article tells ("ma coloc", "mon coloc")
                    if (sex == "F") != (art in ("ma", "une", "la", "cette", "ta")):
                        continue
                if (
                    word in ("monsieur", "dame", "patient", "patiente")
                    and s.is_regulator
                    and art not in ("un", "une")
                ):
                    w = 0.5  # the regulator addressing the caller
                elif self_call and art in ("ma", "mon", "votre", "ta", "ton"):
                    w = 0.3  # the caller is the patient: "mon fils" is someone else
                elif passing.search(left):
                    w = 0.3  # named in passing: "le petit de ma voisine", "avec ma femme"
                elif tied_before.search(left) or tied_after.match(s.folded[m.end() : m.end() + 14]):
                    w = 4.0
                else:
                    w = 1.0
                add(sex, w * op, s.ev(m.start(), m.end()))
        if self_call:
            if s.is_regulator:
                for m in re.finditer(r"\b(madame|monsieur)\b", s.folded):
                    add("F" if m.group(1) == "madame" else "M", 2.0, s.ev(m.start(), m.end()))
                for m in re.finditer(r"\bvous etes (?:\w+ )?(\w+(?:euse|ee|ive|seule))\b", s.folded):
                    add("F", 1.5, s.ev(m.start(), m.end()))
            else:
                for m in re.finditer(r"\bje (?:me )?suis (?:pas |toute? |tres )?(\w+)", s.folded):
                    word = s.text[s.orig(m.start(1)) : s.orig(m.end(1) - 1) + 1].lower()
                    if word.endswith(("ée", "ee")) or word in ("seule", "enceinte", "inquiète", "perdue"):
                        add("F", 1.5, s.ev(m.start(), m.end()))
                    elif word.endswith("é") or word in ("seul", "perdu", "inquiet"):
                        add("M", 1.0, s.ev(m.start(), m.end()))
        # pronouns as the subject of a clinical verb
        for m in re.finditer(
            r"\b(elle|il)\s+(?:ne\s+|n\s+)?(a|est|respire|saigne|bouge|parle|repond|reagit|vomit|tousse|se plaint|pleure|"
            r"dort|marche|s est|transpire|tremble|arrive)\b",
            s.folded,
        ):
            add("F" if m.group(1) == "elle" else "M", 0.1 if self_call else 0.5, s.ev(m.start(), m.end()))
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
    strong = sorted(ev[best], key=lambda e: e.segment)
    return FieldValue(best, tuple(dict.fromkeys(strong))[:3], conf)


# the phone is handed to someone else ("passez-le-moi", "je vous la passe")
HANDOVER = (
    r"\bpassez (?:le|la|les|lui) moi\b|\bpassez moi (?:le|la|votre|votre|son|sa)\b|\bje (?:vous )?(?:le|la|lui) passe\b|"
    r"\b(?:donnez|passez) lui le telephone\b|\bje vous passe (?:mon|ma|son|sa|le patient|la patiente)\b|"
    r"\bje vous (?:le|la) passe\b|\b(?:veut|voudrait) (?:te|vous) parler\b"
)


def _caller_type(segs: list[_Seg]) -> FieldValue | None:
    """Who calls, relative to the patient (HubSante.typeAppelant, level 1).

    The caller's own words weigh most, and the opening turns (where callers say who they are and
    for whom they call) most of all: a professional introducing themself at work ("sapeurs-pompiers
    de ...", "gendarmerie", "je suis le pharmacien", "médecin généraliste", "je suis secouriste"),
    a first-person complaint ("je me suis coupé", "c'est pour moi") → SUJET, a relative named as
    the patient ("c'est pour ma mère", "mon colocataire") → FAMILLE, a neighbour, colleague,
    passer-by or someone in the caller's charge ("il y a un monsieur", "mon apprenti") → TIERS. The
    regulator's "vous avez mal ?" / "votre mère" confirm. Family wins over a professional title
    (a nurse calling about her mother is FAMILLE), as the nomenclature says. Once the phone is
    handed to the patient, the caller's type is settled (the guide: the caller stays TIERS)."""
    score: dict[str, float] = {}
    ev: dict[str, list[Evidence]] = {}

    def add(code: str, w: float, e: Evidence) -> None:
        score[code] = score.get(code, 0.0) + w
        ev.setdefault(code, []).append(e)

    fam = re.compile(rf"\b(ma|mon|mes|notre|nos)\s+(?:petite?\s+|pauvre\s+|vieille?\s+)?({FAMILY})\b")
    fam_en = re.compile(
        r"\bmy (?:daughter|son|wife|husband|mother|father|mum|mom|dad|baby|child|kid|brother|sister|friend|boyfriend|girlfriend)\b"
    )
    fam_reg = re.compile(rf"\b(votre|vos|ta|ton)\s+(?:petite?\s+)?({FAMILY})\b")
    third = re.compile(rf"\b(ma|mon|un|une|des|nos|mes)\s+({THIRD})\b|\b({THIRD})\b")
    # the caller does not know the patient, or is only a witness
    stranger = re.compile(
        r"\bje (?:le|la|les) connais pas\b|\bdevant moi\b|\bje passais\b|\bdans la rue\b|\bsur le trottoir\b|"
        r"\bje suis (?:dans|a) (?:le|la|l|un|une) (?:bus|rer|metro|train|tram|gare|arret|magasin|supermarche|"
        r"restaurant|parc|parking)|\bje suis (?:l |le |la |un |une )?(?:baby sitter|nounou|entraineur|entraineuse|"
        r"professeure?|prof|instituteur|institutrice|maitresse|educateur|educatrice|agent de securite|vigile|"
        r"gardien|gardienne|animateur|animatrice|chef d equipe|chef de chantier|responsable|gerant|gerante|"
        r"directeur|directrice|patron|patronne|employeur|chauffeur|conducteur|serveur|serveuse|barman)\b|"
        r"\b(?:c est|ici) (?:la|le) (?:boulangerie|boucherie|restaurant|magasin|garage|hotel|camping|mairie|ecole|"
        r"college|lycee|creche)\b|\bc est le petit de\b|\bc est (?:un|une) invitee?\b|\bdu club\b|"
        r"\b(?:il y a|y a) quelqu un (?:qui|allonge|par terre|au sol|d inconscient)|\b(?:il y a|y a) (?:eu )?un accident\b"
    )
    selfp = re.compile(rf"\b(?:{SELF})\b")
    self_reg = re.compile(SELF_REG)
    tie = re.compile(r"\b(?:c est pour|pour|j appelle pour|je vous appelle pour|c est|a cause de)\s*$")
    profs = [(re.compile(p), code) for p, code in PROFESSION]
    # whom the regulator's clinical questions are about: "vous" (the caller) or "il/elle"
    reg_vous = re.compile(
        r"\bvous (?:n )?(?:avez (?:mal|eu|vomi|pris|bu|des|de la|du|un|une|cette|quel age|deja)|etes (?:blesse|tombe|"
        r"essouffle|enceinte|diabetique|allergique|seul|chez vous|ou)|respirez|transpirez|toussez|saignez|sentez|voyez|"
        r"pouvez (?:lever|bouger|marcher|parler|respirer|vous lever)|prenez|fumez|buvez|bougez|arrivez a|"
        r"souffrez)|\bqu est ce qui vous arrive\b|\bvous vous etes\b"
    )
    reg_tiers = re.compile(
        r"\b(?:il|elle) (?:n )?(?:a (?:mal|eu|vomi|pris|bu|des|de la|du|un|une|quel age|deja)|est (?:blesse|tombe|"
        r"essouffle|enceinte|diabetique|allergique|seul|conscient|ou)|respire|transpire|tousse|saigne|sent|voit|"
        r"peut (?:lever|bouger|marcher|parler|respirer|se lever)|prend|fume|boit|bouge|arrive a|souffre|parle|"
        r"repond|vous repond)\b"
    )
    # the regulator's opening recap of the call-taker's transfer ("vous appelez pour votre mère")
    recap = re.compile(
        rf"\bvous (?:m |nous )?(?:appelez|appeliez|avez appele) (?:pour|a cause de|au sujet de) (?P<art>votre|vos|ton|ta|un|une)\s+"
        rf"(?:petite?\s+|heu\s+|euh\s+)?(?:(?P<fam>{FAMILY})|(?P<third>voisin|voisine|collegue|ami|amie|client|cliente|"
        r"eleve|patient|patiente|monsieur|dame|personne|homme|femme|jeune))\b|\bvous (?:m |nous )?appelez pour vous\b"
    )
    n_vous = n_tiers = 0
    first_vous: Evidence | None = None
    n_caller = 0
    handed = False
    caller_speaker = next((s.speaker for s in segs if s.is_regulator is False), None)
    for s in segs:
        if handed and n_caller or s.is_regulator is False and s.speaker != caller_speaker:
            # the patient (a new voice) took the phone: the rest describes the patient, not who called
            break
        if re.search(HANDOVER, s.folded):
            handed = True
        if s.is_regulator:
            for m in recap.finditer(s.folded):
                if m.group("fam") and m.group("art") not in ("un", "une"):
                    code = "FAMILLE"
                else:  # "votre voisin", "une dame": not family; "vous appelez pour vous": the patient
                    code = "TIERS" if m.group("fam") or m.group("third") else "SUJET"
                add(code, 4.0, s.ev(m.start(), m.end()))
            for m in reg_vous.finditer(s.folded):
                n_vous += 1
                first_vous = first_vous or s.ev(m.start(), m.end())
            n_tiers += len(reg_tiers.findall(s.folded))
            for m in fam_reg.finditer(s.folded):
                add("FAMILLE", 0.75, s.ev(m.start(), m.end()))
            for m in self_reg.finditer(s.folded):
                add("SUJET", 0.75 if n_caller else 1.0, s.ev(m.start(), m.end()))
            continue
        n_caller += 1
        opening = n_caller <= 2
        w_open = 2.0 if opening else 1.0
        for pat, code in profs:
            for m in pat.finditer(s.folded):
                add(code, 5.0 if n_caller <= 3 else 2.0, s.ev(m.start(), m.end()))
        for m in fam.finditer(s.folded):
            if m.group(2) in ("petit", "petite") and not re.match(
                r"\s*(?:$|il|elle|qui|est|a|s|n|ne|fait|de|dernier|derniere)\b",
                s.folded[m.end() : m.end() + 10],
            ):
                continue  # "ma petite moto" is not "ma petite"
            tied = bool(tie.search(s.folded[max(0, m.start() - 25) : m.start()])) or bool(
                re.match(
                    r"\s+(?:qui|il|elle|est|a|s est|fait|respire|saigne|ne|n)\b",
                    s.folded[m.end() : m.end() + 12],
                )
            )
            if re.match(
                r"\s+(?:m a dit|m a demande|est la|est avec|me dit|m a conseille|m a pousse|arrive)\b",
                s.folded[m.end() : m.end() + 16],
            ):
                tied = False  # "ma femme m'a dit d'appeler": a relative who is not the patient
            if re.search(r"\b(?:pas|plus)\s*$", s.folded[max(0, m.start() - 12) : m.start()]):
                score["FAMILLE"] = score.get("FAMILLE", 0.0) - 3.0  # "c'est pas ma sœur": a correction
                continue
            add("FAMILLE", (2.0 if tied else 0.75) * w_open, s.ev(m.start(), m.end()))
        for m in fam_en.finditer(s.folded):
            add("FAMILLE", 1.5 * w_open, s.ev(m.start(), m.end()))
        for m in third.finditer(s.folded):
            word = m.group(2) or m.group(3)
            if word in ("un petit", "une petite", "un enfant", "un bebe") and not opening:
                continue
            if re.search(r"\b(?:pas|plus)\s*$", s.folded[max(0, m.start() - 12) : m.start()]):
                score["TIERS"] = score.get("TIERS", 0.0) - 3.0  # "c'est pas ma collègue"
                continue
            if m.group(1) is None and word in (
                "client",
                "cliente",
                "eleve",
                "apprenti",
                "employe",
                "salarie",
            ):
                w = 0.75 * w_open  # a bare noun ("le client") is weaker than "mon client", "un client"
            else:
                w = 1.5 * w_open
            add("TIERS", w, s.ev(m.start(), m.end()))
        for m in stranger.finditer(s.folded):
            add("TIERS", 2.0 * w_open, s.ev(m.start(), m.end()))
        for m in selfp.finditer(s.folded):
            add("SUJET", 1.5 * w_open, s.ev(m.start(), m.end()))
    if first_vous is not None and n_vous > n_tiers:
        add("SUJET", min(3.0, 0.75 * (n_vous - n_tiers)), first_vous)
    if not score:
        return None
    prof = {c: v for c, v in score.items() if c not in ("FAMILLE", "TIERS", "SUJET")}
    if prof:
        best_prof = max(prof, key=prof.get)
        if prof[best_prof] >= 5.0 and score.get("FAMILLE", 0.0) < 4.0:
            conf = min(1.0, 0.6 + prof[best_prof] / 20)
            return FieldValue(best_prof, tuple(ev[best_prof][:3]), conf)
    rel = {c: score.get(c, 0.0) for c in ("FAMILLE", "TIERS", "SUJET") if c in score}
    if not rel:
        best = max(score, key=score.get)
    else:
        best = max(rel, key=lambda k: (rel[k], k == "FAMILLE"))
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
    pompiers ?") decisions are left out; a dispatch or orientation said under a condition ("si ça
    s'aggrave vous allez aux urgences") is advice (CONSEIL); a dispatch said with a pronoun ("c'est
    moi qui les envoie") takes the resource named in the turns just before."""
    found: list[tuple[str, str | None, str | None, float, Evidence, int]] = []
    res_words = [(r"\bsmur\b", "SMUR"), (r"pompiers?|sapeurs|\bsecours\b", "SIS"), (r"ambulance", "TSU")]
    for k, s in enumerate(segs):
        if s.is_regulator is False:
            continue
        for pat, dec, res, orient, w in DECISIONS:
            for m in re.finditer(pat, s.folded):
                left = s.folded[max(0, m.start() - 40) : m.start()]
                before = 2 if dec == "CONSEIL" else 3  # "si vous ne vous sentez pas bien vous rappelez"
                if re.search(NO_DECISION_NEG, left) or negated_at(
                    s.folded, m.start(), m.end(), before=before, after=0
                ):
                    continue
                if dec != "CONSEIL" and s.asks_at(m.start(), m.end()):
                    continue  # "vous avez appelé les pompiers ?" is not a decision
                if dec == "INTER" and re.match(
                    r"\s*(?:sont|est|etaient|etait) (?:deja )?(?:passes?|venus?|repartis?)\b",
                    s.folded[m.end() :],
                ):
                    continue  # "les pompiers sont venus": a crew that came earlier, not one sent now
                if orient == "CABINET" and re.match(
                    r".{0,30}(?:a domicile|chez vous|(?:qui )?(?:va|vient|viendra|passera|peut) (?:venir|passer|se deplacer|l examiner|vous voir))",
                    s.folded[m.end() : m.end() + 60],
                ):
                    continue  # "appeler un médecin qui va venir l'examiner à domicile" is a home visit
                if dec == "ORIENT" and re.search(r"\b(?:pas|plus)\b|allez bien", m.group()):
                    continue  # "ce n'est pas les urgences qu'il vous faut"
                if dec != "CONSEIL" and (
                    _conditional(s.folded, m.start())
                    or re.search(FUTURE_SEND, s.folded[max(0, m.start() - 40) : m.start()])
                ):
                    dec, res, orient, w = "CONSEIL", None, None, 1
                found.append((dec, res, orient, w, s.ev(m.start(), m.end()), s.index))
        for m in re.finditer(ANAPHORIC_SEND, s.folded):
            if s.asks_at(m.start(), m.end()) or _conditional(s.folded, m.start()):
                continue
            before = " ".join(x.folded for x in segs[max(0, k - 3) : k]) + " " + s.folded[: m.start()]
            named = [(mm.start(), code) for pat, code in res_words for mm in re.finditer(pat, before)]
            if named:
                found.append(("INTER", max(named)[1], None, 4, s.ev(m.start(), m.end()), s.index))
    return found


def _decision(
    segs: list[_Seg], caller_type: str | None = None
) -> tuple[FieldValue | None, FieldValue | None, FieldValue | None]:
    """Decision type, resource and orientation from :func:`decision_cues`. When firefighters on
    scene call in their report (``caller_type`` POMPIER), the regulator's transport order is a
    dispatch of their own crew (INTER/SIS)."""
    found = decision_cues(segs)
    if caller_type == "POMPIER":
        found = [
            ("INTER", "SIS", o, max(w, 3), e, i) if d == "ORIENT" else (d, r, o, w, e, i)
            for d, r, o, w, e, i in found
        ]
        transport = (
            r"\bvous (?:me |nous )?(?:le |la |les |l )?(?:transportez|evacuez|emmenez|conduisez|amenez)\b"
        )
        for s in segs:
            if s.is_regulator is not False:
                for m in re.finditer(transport, s.folded):
                    found.append(("INTER", "SIS", None, 4, s.ev(m.start(), m.end()), s.index))
    if not any(f[1] == "SMUR" for f in found):
        for s in segs:
            m = re.search(NOTHING_MORE, s.folded) if s.is_regulator is not False else None
            if m:
                return FieldValue("PASPLUS", (s.ev(m.start(), m.end()),), 0.7), None, None
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
    rx = next(
        (
            (s, m)
            for s in segs
            if s.is_regulator is not False
            for m in re.finditer(PRESCRIBE, s.folded)
            if not s.asks_at(m.start(), m.end()) and not _conditional(s.folded, m.start())
        ),
        None,
    )
    if rx is not None and (
        dec == "CONSEIL"
        or dec == "ORIENT"
        and all(f[2] == "CABINET" for f in found if f[0] == "ORIENT")
        or dec == "INTER"
        and all(f[1] == "LIBERAL" and f[5] < rx[0].index for f in found if f[0] == "INTER")
    ):
        # a prescription by phone with advice, a deferred GP visit or an earlier talk of the
        # on-call doctor: the drug is the decision (PMT)
        s, m = rx
        return FieldValue("PMT", (s.ev(m.start(), m.end()),), 0.7), None, None
    ev = tuple(f[4] for f in found if f[0] == dec)[:3]
    decision = FieldValue(dec, ev, min(1.0, 0.5 + by_dec[dec] / 10))
    resource = None
    if dec == "INTER":
        res_score: dict[str, float] = {}
        for d, res, _o, w, _e, _i in found:
            if d == "INTER" and res:
                res_score[res] = res_score.get(res, 0.0) + w
        if "LIBERAL" in res_score and _cpr(segs) is not None:
            # a doctor on the way while the caller is doing CPR is the medical team (SMUR)
            res_score["SMUR"] = res_score.pop("LIBERAL") + res_score.get("SMUR", 0.0)
            found = [(d, "SMUR" if r == "LIBERAL" else r, o, w, e, i) for d, r, o, w, e, i in found]
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
    caller_type: str | None = None,
) -> FieldValue | None:
    """The priority field from the decision fields (:func:`infer_priority`), with the guide's
    timing rules: a consultation the same day (today, tonight, an on-call doctor, dentist or
    maison médicale de garde) is P2 while "within days" stays P3; an ambulance or fire crew sent
    with a stated delay of an hour or more ("elle sera là d'ici une heure et demie") is a same-day
    dispatch, P2, as is the transport of a patient by the fire crew already on scene (a
    firefighter calling in a report). Evidence: the decision (or motif) it follows from, and
    the timing cue."""
    src = res or dec or motif
    if src is None:
        return None
    resource = res.value if res and dec and dec.value == "INTER" else None
    prio = infer_priority(
        dec.value if dec else None,
        resource,
        motif.value if motif else None,
        orient.value if orient else None,
    )
    evs = tuple(src.evidence[:2])
    if dec and dec.value == "PASPLUS":
        # a crew already there: firefighters on site act as an immediate dispatch (P1), else same day
        crew = next(((s, m) for s in segs if (m := re.search(CREW_ARRIVING, s.folded))), None)
        if crew is not None:
            s, m = crew
            return FieldValue("P1", evs + (s.ev(m.start(), m.end()),), 0.6)
    reg = [s for s in segs if s.is_regulator is not False]
    cpr = _cpr(segs)
    if prio != "P0" and cpr is not None:
        prio, evs = "P0", evs + (cpr,)
    if prio == "P3" and dec and dec.value == "ORIENT":
        by_index = {s.index: s for s in segs}
        same_day: Evidence | None = None
        deferred = False
        for d, _r, _o, _w, e, _i in decision_cues(segs):
            if d != "ORIENT":
                continue
            s = by_index[e.segment]
            orig = s.text.find(e.quote)
            pos, end = s.pos(orig), s.pos(orig + len(e.quote))
            a, b = max(0, pos - 40), end + 80
            deferred = deferred or bool(re.search(DEFERRED, s.folded[a:b]))
            m = re.search(SAME_DAY, s.folded[a:b])
            if m and same_day is None:
                same_day = s.ev(a + m.start(), a + m.end())
        if same_day is not None and not deferred:
            prio, evs = "P2", evs + (same_day,)
    if prio == "P1" and resource in ("TSU", "SIS"):
        late = _first(reg, LATE_ARRIVAL, caller_only=False, limit=1)
        if late:
            prio = "P2"
            evs = evs + (late[0][0].ev(late[0][1].start(), late[0][1].end()),)
        elif caller_type == "POMPIER" and resource == "SIS":
            prio = "P2"
    return FieldValue(prio, evs, 0.6, src.source) if prio else None


def _conditional(folded: str, pos: int) -> bool:
    """Is position ``pos`` inside a condition ("si ça s'aggrave vous allez aux urgences", "s'il
    devient bleu")? An indirect question ("je sais pas s'il a de la fièvre") is not one."""
    m = CONDITIONAL.search(folded[max(0, pos - 70) : pos])
    if not m:
        return False
    before = folded[max(0, pos - 70) : pos][: m.start()]
    return not re.search(
        r"\b(?:sais pas|sait pas|savoir|demande|demandais|voir|regarder|verifier|dire)\s*$", before
    )


def _cpr(segs: list[_Seg]) -> Evidence | None:
    """The regulator's first CPR instruction ("vous massez", "appuyez au milieu de la poitrine"),
    or None. Conditional ("s'il ne respire plus vous commencez le massage"), denied and asked
    ones are not instructions."""
    for s in segs:
        if s.is_regulator is False:
            continue
        for m in re.finditer(CPR, s.folded):
            if _conditional(s.folded, m.start()) or s.asks_at(m.start(), m.end()):
                continue
            if negated_at(s.folded, m.start(), m.end(), before=3, after=1):
                continue
            return s.ev(m.start(), m.end())
    return None


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


def _town_at(s: _Seg, pos: int, article: bool = False) -> tuple[int, int] | None:
    """The town name starting at ``pos`` of ``s.folded`` as ``(start, end)``: one word, with
    "saint" (or, when ``article``, "le"/"les") before it, words joined by hyphens in the original
    ("hénin-beaumont") or by "sur"/"sous"/"en" ("aulnay sous bois"). None when the word is not a
    plausible town (a common word, a number, a gerund)."""
    lead = r"(?:saint|sainte|st|le|les)" if article else r"(?:saint|sainte|st)"
    m = re.match(rf"({lead}\s)?([a-z]{{3,}})\b", s.folded[pos:])
    if not m or m.group(2) in CITY_STOP or re.fullmatch(NUMWORD, m.group(2)) or m.group(2).endswith("ant"):
        return None
    end = pos + m.end()
    if s.text[s.orig(end) : s.orig(end) + 2] in ("- ", "-"):
        return None  # a word cut short ("à côt- non à côté")
    while True:
        nxt = re.match(r"\s(?:(sur|sous|en|les|le|la|de|du)\s)?([a-z]{3,})\b", s.folded[end:])
        if not nxt:
            break
        hyphen = s.text[s.orig(end) : s.orig(end) + 1] == "-"
        if not hyphen and nxt.group(1) not in ("sur", "sous", "en") or nxt.group(2) in CITY_STOP:
            break
        end += nxt.end()
    return pos, end


def _location(segs: list[_Seg]) -> dict[str, FieldValue]:
    """Address, access details, town and whether a findable place is given.

    The town is looked for, in this order, in the caller's answer to the regulator's "où ?", after
    a street address ("12 rue des lilas à albi"), and after phrases that place the patient ("on
    habite à murat", "chez elle à antony", "la commune de riom", "en gare de sucy", "gendarmerie
    d'ussel"); towns named as a destination ("les urgences de mende") are not the patient's.
    ``address_present`` needs a street address or a named place ("la place du marché", "le camping
    les pins"); a town alone is not findable."""
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
    place = [
        (s, m)
        for s, m in _first(segs, NAMED_PLACE, caller_only=False, limit=5)
        if m.group("name") not in PLACE_STOP and not s.is_regulator
    ]
    if "location.address_present" not in out and place:
        s, m = place[0]
        out["location.address_present"] = FieldValue(True, (s.ev(m.start(), m.end()),), 0.6)

    def town_after(
        s: _Seg, pat: str, start: int = 0, end: int | None = None, article: bool = False
    ) -> Evidence | None:
        for m in re.finditer(pat, s.folded[start:end] if end else s.folded[start:]):
            a = start + m.end()
            prep = re.search(r"\ba\s+$", m.group())
            if prep and accented and s.text[s.orig(start + m.start() + prep.start())] not in "àÀ":
                continue  # the verb "a" ("il a dit"), not the preposition "à"
            if re.search(DESTINATION, s.folded[max(0, a - 40) : a]):
                continue  # "les urgences de mende": where the patient goes, not where they are
            span = _town_at(s, a, article or bool(re.search(r"(?:commune|ville) d", m.group())))
            if span:
                return s.ev(*span)
        return None

    # in a transcript written with accents, the preposition "à" is told from the verb "a"
    accented = any(re.search(r"[éèàùç]", s.text) for s in segs)
    found: Evidence | None = None
    # 1. the caller's answer right after the regulator asks where (a short answer may be the town)
    for i, s in enumerate(segs):
        if found or not (s.is_regulator and re.search(CITY_QUESTION, s.folded)):
            continue
        for nxt in segs[i + 1 : i + 3]:
            if nxt.is_regulator:
                break
            found = town_after(nxt, CITY_ANSWER_PREFIX)
            if not found and len(nxt.folded.split()) <= 4:
                found = town_after(nxt, r"^(?:(?:oui|alors|c est|a|au|aux)\s+)*", article=True)
            if found:
                break
    # 2. after a street address or a named place ("pharmacie du centre à auch", "super u de
    # saint-chély"); 3. phrases that place the patient, in the caller's turns
    places = list(addr) + _first(segs, NAMED_PLACE, caller_only=False, limit=5)
    for s, m in places:
        if found:
            break
        found = town_after(s, r"\b(?:a|sur)\s+", m.start(), m.end() + 40)
        if not found and "name" in m.groupdict() and re.search(r"\b(?:de|d)\s+\S+$", m.group()):
            found = town_after(s, r"\b(?:de|d)\s+(?=\S+$)", m.start(), m.end())
    for s in segs:
        if found:
            break
        if not s.is_regulator:
            found = town_after(s, CITY_CONTEXT)
    if found:
        out["location.city"] = FieldValue(found.quote.lower(), (found,), 0.5)
    if "location.address_present" not in out:
        # no address in the call is a finding in itself; the regulator's location questions, if
        # any, are the evidence that it was asked for and not given
        asked = [
            s.ev(0, len(s.folded)) for s in segs if s.is_regulator and re.search(CITY_QUESTION, s.folded)
        ]
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
        ma, mb = s.orig(m.start()), s.orig(m.end() - 1) + 1
        a = max(s.text.rfind(".", 0, ma), s.text.rfind(",", 0, ma), s.text.rfind("?", 0, ma)) + 1
        b_candidates = [i for i in (s.text.find(c, mb) for c in ".,?") if i >= 0]
        b = min(b_candidates) if b_candidates else len(s.text)
        evs.append(Evidence(s.index, s.text[a:b].strip(), s.speaker, s.start, s.end))
    return FieldValue("; ".join(dict.fromkeys(e.quote for e in evs)), tuple(evs), 0.6)


def extract_rules(
    transcript: Transcript,
    options: RuleOptions | None = None,
    hook: Callable[[str, int, int], None] | None = None,
    call_date: datetime.date | None = None,
) -> CallForm:
    """Fill a call form from ``transcript`` with rules only (no model). Fields the call does not
    support stay empty; each filled field carries its evidence (segment index + quote).

    Args:
        transcript: the call, regulator and caller turns (roles from ``transcript.roles`` or guessed).
        options: rule settings (:class:`RuleOptions`).
        hook: progress callback ``hook(step, completed, total)``.
        call_date: the day of the call, to turn a stated birth year ("né en cinquante six") into
            an age; today when None.
    """
    opts = options or RuleOptions()
    today = call_date or datetime.date.today()
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
    ct = _caller_type(segs)
    age = _age(segs, today, self_caller=bool(ct) and ct.value == "SUJET")
    age_years = None if not age else int(age.value.split()[0]) if age.value.endswith("ans") else 0
    motif = _pick_motif(hits, segs, age_years)
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
    dec, res, orient = _decision(segs, ct.value if ct else None)
    if dec:
        fields["decision.type"] = dec
    if res:
        fields["decision.resource"] = res
    if orient:
        fields["decision.orientation"] = orient
    prio = priority_field(segs, dec, res, motif, orient, ct.value if ct else None)
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
