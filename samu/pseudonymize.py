"""Pseudonymisation of French call transcripts: person names, phone numbers, street addresses,
dates of birth and social-security numbers (NIR) become consistent placeholders.

Used before any export and before building training data. Pure functions, standard library only,
no model: detection is rules on speech-style French (often no capitals, disfluencies, numbers in
words), tuned to err on the side of redaction.

Placeholders are ``[NOM_1]``, ``[TEL_1]``, ``[ADRESSE_1]``, ``[DATE_NAISSANCE_1]``, ``[NIR_1]``.
The same surface form (case- and accent-insensitive; digits only for phone numbers and NIR, so
``06 12 34 56 78`` and ``zéro six douze trente-quatre cinquante-six soixante-dix-huit`` share a
placeholder) gets the same placeholder throughout a transcript, and across transcripts when the
same :class:`PseudoKey` is passed back in. The key (placeholder -> original text) is what makes the
output reversible (:func:`reidentify`); keep it apart from the pseudonymised output.

Decisions (see ``data_cards/pseudonymization.md``):

* Names are replaced token by token (``DIANE JOUCLA`` -> ``[NOM_1] [NOM_2]``), so a surname said
  alone later gets the same placeholder as in the full name. The other kinds are one placeholder
  per span (a whole phone number, a whole address).
* Words: a placeholder replaces the part of the word(s) it covers. An entity spanning several
  words becomes **one** :class:`~asr.transcript.Word` running from the first word's start to the
  last word's end (so the audio span to mute is exact), with the lowest known probability; after
  :func:`reidentify` that word holds the original multi-word text.
* Once a token is found as a name (after a title, an introduction, in capitals, in the key or in
  ``PseudoOptions.names``), every occurrence of it is replaced, capitalised or not, unless it is a
  common French word.
* Kept on purpose: medical words, drug names and service acronyms (SAMU, SMUR, COVID, Doliprane),
  ages, floors, years alone ("en 1999"), emergency numbers (15, 17, 18, 112). City names are not
  looked for (capitalised ones are replaced as names, lower-case ones stay).
* Not touched: speaker labels, ``source``, roles.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from asr.transcript import Transcript, Word, fold_accents

try:  # POSIX advisory locks for a key file shared by concurrent runs
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

__all__ = [
    "KINDS",
    "PLACEHOLDER_RE",
    "Entity",
    "PseudoOptions",
    "PseudoKey",
    "LockedKey",
    "find_entities",
    "locked_key",
    "pseudonymize",
    "pseudonymize_with_key_file",
    "pseudonymize_text",
    "reidentify",
    "reidentify_text",
]

log = logging.getLogger(__name__)

KINDS = ("NOM", "TEL", "ADRESSE", "DATE_NAISSANCE", "NIR")
PLACEHOLDER_RE = re.compile(r"\[(NOM|TEL|ADRESSE|DATE_NAISSANCE|NIR)_([1-9]\d*)\]")
KEY_FORMAT = "llm4all-pseudo-key"
KEY_VERSION = 1

# overlap resolution: longer spans first, then this order
_PRIORITY = {"NIR": 0, "DATE_NAISSANCE": 1, "TEL": 2, "ADRESSE": 3, "NOM": 4}


@lru_cache(maxsize=1 << 16)
def _fold(s: str) -> str:
    """Lower-case without accents (``Éloïse`` -> ``eloise``); same length is not guaranteed."""
    return fold_accents(s).replace("’", "'")


def _words(s: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in s.split())


# --------------------------------------------------------------------------- word lists

# Common French words (folded), never taken for a name when written in lower case, and not
# when written in capitals either. Speech fillers, function words, frequent verbs/nouns/adjectives
# of emergency calls, number words. Compact on purpose: a lower-case token is only ever a name
# candidate right after a title or an introduction, where this list is what tells "madame il
# faut" from "madame dupont".
COMMON = _words(
    """
    a à ah ai aie aient aies ait alors allo allô allez allons aller allé allée allés allées ans an année
    après apres arrive arrivé arrivée arrivent as assez attendez attends au aucun aucune aujourd'hui
    aussi autre autres aux avait avais avaient avant avec avez aviez avoir avons ayant bah ben bien
    bientôt bon bonne bonjour bonsoir bref bah beaucoup besoin bras bouche bouge bouger bouteille
    c' c'est c'était ça car ce ceci cela celle celui ces cet cette chaque chez ci combien comme comment
    complètement compris connais connaissance content contre coup coups cours crois croit d' d'accord
    dans de debout dedans dehors déjà demain depuis derrière des dessus devant devez devrait dis disait
    dit dites doit donc dont dos douleur douleurs du elle elles en encore enfin ensemble ensuite entre
    es est et étaient était étais été être eu eux excusez fait faire fais faites faut fille fils fin
    fois font frère gauche droite grand grande gros hein heu euh hum hier ici il ils j' j'ai j'avais
    jamais je jusqu' juste l' la là laquelle le lequel les leur leurs lui m' ma madame mademoiselle mais
    mal maintenant malaise maman mari me même mes mien mère merci mes mhm moi moins mon monsieur mort
    n' ne ni non nos notre nous nouveau nouvelle ok okay on ont ou où ouais oui p' papa par parce
    pardon parle parler pas passe passé pendant personne petit petite peu peut peut-être peux père
    plus plutôt pour pourquoi pouvez pris puis qu' quand quant que quel quelle quelles quels quelque
    quelqu'un quoi qui rien s' sa sais sait sans se sera ses seul seule si sien simplement soeur sœur
    soit son sont sous souvent suis sur surtout t' ta tant te tellement tes toi ton tombé tombée
    toujours tous tout toute toutes très trop tu un une va vais vas venez vers veut veux vient vite
    voilà voir vois voit vont vos votre vous vrai vraiment vu y yeux zut
    docteur docteure dr doc professeur pr mme mlle mr mrs maître infirmier infirmière médecin
    urgentiste régulateur régulatrice pompiers pompier police ambulance secours hôpital urgences
    samu smur sos appel appelle appelez appelé appeler appelais appelait rappelez téléphone numéro
    patient patiente enfant enfants bébé femme homme voisin voisine collègue ami amie grand-mère
    grand-père papi mamie tante oncle cousin cousine parents famille mari épouse
    respire respirer respiration conscient consciente inconscient réveillé tête ventre poitrine
    jambe jambes main mains pied pieds cœur coeur sang fièvre vomi vomit vomissements chute tombe
    médicament médicaments traitement cachet comprimé comprimés heure heures minute minutes jour jours
    semaine semaines mois matin soir nuit midi maison appartement chambre cuisine salle bain lit
    sol escalier rue chemin place route voiture moto vélo travail école bureau
    zéro deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize
    vingt vingts trente quarante cinquante soixante septante huitante octante nonante cent cents mille
    premier première deuxième troisième quatrième cinquième second seconde dernier dernière
    janvier février mars avril mai juin juillet août septembre octobre novembre décembre
    lundi mardi mercredi jeudi vendredi samedi dimanche
    écoutez écoute attendez regardez dites-moi expliquez racontez passez mettez restez vérifiez
    ouvert ouverte fermé fermée chaud froid rouge bleu blanc noir normal normale grave urgent
    inquiet inquiète désolé désolée sûr sûre possible impossible compliqué difficile facile
    bonne journée revoir salut effectivement exactement absolument voilà tiens bravo parfait
    """
)

# Acronyms, services and drugs (folded) that are written in capitals but are no names.
KEEP = _words(
    """
    samu smur sau sos covid avc ait irm orl ph sdf ecg vsav bspp sdis chu chr had ehpad usic unv arm
    mru pcr hta bpco idm sca acr rcp dea dae oap ep tvp gcs spo2 ta fc fr iv im sc vvp o2 co co2 inr
    avk ains vih hiv sida vhc hpv ras ok tv usa ue sncf ratp edf caf cpam pmi ase ssr usld cmp cmu
    ame ald mdph rsa tgv ivg ist rdv bpm mg ml kg cm mmhg nir vitale secu sécu urssaf insee
    ets isp cta codis cra crra mrsa nrbc uma umh samu93 pma lat sms wc tnt ccmu aed ntbc covid19
    doliprane efferalgan dafalgan paracétamol paracetamol ibuprofène ibuprofene advil nurofen spasfon
    aspirine kardegic plavix xarelto eliquis apixaban rivaroxaban pradaxa coumadine previscan
    lovenox ventoline seretide symbicort lorazepam temesta xanax lexomil valium rivotril stilnox
    imovane levothyrox insuline metformine glucophage amoxicilline augmentin célestène celestene
    solupred zyrtec tramadol codéine codeine morphine skenan lamaline ixprim natispray trinitrine
    lasilix depakine tegretol keppra deroxat seroplex prozac zoloft loxapac tercian haldol
    risperdal zyprexa abilify subutex méthadone methadone naloxone adrénaline adrenaline anapen
    epipen glucagon smecta gaviscon mopral inexium oméprazole omeprazole pantoprazole bisoprolol
    amlodipine ramipril périndopril perindopril atorvastatine tahor crestor lyrica neurontin
    ventoline bricanyl atrovent solumedrol polaramine aerius primperan vogalene motilium
    diazépam diazepam clonazépam clonazepam alprazolam bromazépam bromazepam zolpidem zopiclone
    cortisone ventilation oxygène oxygene
    """
)

# Frequent French first names that are not also ordinary words: a lower-case occurrence is taken
# for a name ("c'est marie à l'appareil", "mon fils lucas"). Ambiguous ones (pierre, rose, claire,
# jean, france, marine...) are left out: they are caught after a title or in capitals only.
FIRST_NAMES = _words(
    """
    marie nathalie isabelle sylvie catherine françoise christine monique valérie sandrine véronique
    stéphanie nicole sophie céline chantal patricia anne brigitte julie sandrine aurélie caroline
    christelle émilie laetitia élodie virginie martine dominique séverine camille laura sarah léa
    manon chloé emma inès jade louise lina mila ambre anna lola zoé juliette alice lucie mathilde
    pauline marion audrey mélanie karine nadia fatima amina yasmine sonia samia leila djamila
    philippe michel alain patrick nicolas christophe daniel bernard éric eric frédéric laurent
    stéphane david thierry pascal olivier sébastien jérôme julien françois christian vincent
    guillaume thomas antoine alexandre maxime kevin mathieu matthieu romain anthony jonathan
    jacques andré gérard rené roger marcel louis paul lucas hugo léo gabriel raphaël arthur jules
    ethan nathan enzo théo tom noah adam mohamed mohammed ahmed karim mehdi rachid youssef samir
    bruno didier franck gilles hervé joël marc serge yves denis dylan florian quentin benjamin
    cédric fabrice ludovic arnaud damien grégory jean-pierre jean-claude jean-luc jean-marc
    jean-michel jean-françois jean-paul marie-claude marie-christine anne-marie clément laurence
    florence maxence hortense ségolène renée dorothée timothée andrée aimée
    """
)

_TITLES = _words("docteur docteure dr doc professeur pr madame monsieur mademoiselle mme mlle mr maître")
# skipped between a trigger and the name: "je suis heu le docteur X", "c'est la petite X"
_FILLERS = _words("heu euh hum hm ben bah le la l' donc alors voilà hein ah oh bon oui non")
# multi-token introductions (folded token sequences) after which the next tokens are a name
_INTRO = (
    ("m'appelle",),
    ("m'appelais",),
    ("s'appelle",),
    ("s'appelait",),
    ("t'appelles",),
    ("me", "nomme"),
    ("mon", "nom", "c'est"),
    ("mon", "nom", "est"),
    ("mon", "nom", "de", "famille", "c'est"),
    ("mon", "nom", "de", "famille", "est"),
    ("mon", "prenom", "c'est"),
    ("mon", "prenom", "est"),
    ("nom", "de", "famille"),
    ("de", "la", "part", "de"),
)
_APPAREIL = ("a", "l'appareil")  # "X à l'appareil" (folded)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class PseudoOptions:
    """What to look for.

    Args:
        kinds: entity kinds to replace, among ``KINDS``.
        names: names to always replace (e.g. the centre's staff list), any case.
        keep_words: words never replaced as names (e.g. local place names to keep), any case.
        capitalized_names: take capitalised tokens that are no common word/acronym/drug for names.
        first_names: take known first names (built-in list) for names even in lower case.
        spread_names: replace every occurrence of a token once it is known as a name (in this
            text/transcript or in the key passed in).
    """

    kinds: tuple[str, ...] = KINDS
    names: tuple[str, ...] = ()
    keep_words: tuple[str, ...] = ()
    capitalized_names: bool = True
    first_names: bool = True
    spread_names: bool = True

    def __post_init__(self) -> None:
        for name in ("kinds", "names", "keep_words"):
            v = getattr(self, name)
            if isinstance(v, str) or not isinstance(v, Iterable):
                raise ValueError(f"PseudoOptions.{name}: expected a sequence of strings, got {v!r}")
            v = tuple(v)
            if not all(isinstance(x, str) and x.strip() for x in v):
                raise ValueError(f"PseudoOptions.{name}: expected non-empty strings, got {v!r}")
            object.__setattr__(self, name, v)
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            raise ValueError(
                f"PseudoOptions.kinds: unknown or empty {bad or self.kinds!r}; choose from {KINDS}"
            )
        for name in ("capitalized_names", "first_names", "spread_names"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"PseudoOptions.{name}: expected a bool, got {getattr(self, name)!r}")


# --------------------------------------------------------------------------- key


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _norm(kind: str, surface: str) -> str:
    """The identity of an entity for consistency: same normal form -> same placeholder."""
    if kind == "TEL":
        d = _number_digits(surface)
        if d.startswith("33") and len(d) == 11:
            d = "0" + d[2:]
        return d or _fold(surface)
    if kind == "NIR":
        return _number_digits(surface) + "".join(re.findall(r"2[ab]", _fold(surface)))
    return " ".join(re.findall(r"[\w-]+", _fold(surface).replace("'", " ")))


class PseudoKey:
    """Placeholder -> original text, the secret that makes pseudonymisation reversible.

    Keep it apart from the pseudonymised output. Functions that extend a key return a new one and
    leave the one passed in unchanged. ``to_json``/``from_json`` (and ``save``/``load``) use
    ``{"format": "llm4all-pseudo-key", "version": 1, "entries": {"[NOM_1]": "...", ...}}``; a bare
    ``{"[NOM_1]": "..."}`` mapping is read too.

    A key file shared by runs that may overlap (two batches, ``samu-form --pseudonymize-key``)
    must be used through :func:`locked_key` or :func:`pseudonymize_with_key_file`, which reload
    it under a file lock for each transcript; ``save`` alone does not lock.
    """

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._entries: dict[str, str] = {}
        self._index: dict[tuple[str, str], str] = {}
        self._next: dict[str, int] = {k: 1 for k in KINDS}
        for ph, original in (entries or {}).items():
            m = PLACEHOLDER_RE.fullmatch(ph) if isinstance(ph, str) else None
            if m is None:
                raise ValueError(f"pseudonymisation key: bad placeholder {ph!r} (expected e.g. [NOM_1])")
            if not isinstance(original, str) or not original.strip():
                raise ValueError(f"pseudonymisation key: {ph} has no original text")
            kind, n = m.group(1), int(m.group(2))
            ident = (kind, _norm(kind, original))
            if ident in self._index:
                raise ValueError(
                    f"pseudonymisation key: {ph} and {self._index[ident]} stand for the same text"
                )
            self._entries[ph] = original
            self._index[ident] = ph
            self._next[kind] = max(self._next[kind], n + 1)

    @property
    def entries(self) -> dict[str, str]:
        """A copy of the mapping placeholder -> original text."""
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, placeholder: object) -> bool:
        return placeholder in self._entries

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PseudoKey) and other._entries == self._entries

    def __repr__(self) -> str:  # never the originals: a key must not end up in logs
        counts = {k: sum(p.startswith(f"[{k}_") for p in self._entries) for k in KINDS}
        return f"PseudoKey({', '.join(f'{k}={n}' for k, n in counts.items() if n)})"

    def get(self, placeholder: str) -> str | None:
        """The original text of ``placeholder``, or ``None``."""
        return self._entries.get(placeholder)

    def placeholder_for(self, kind: str, surface: str) -> str | None:
        """The placeholder already given to this entity (same normal form), or ``None``."""
        return self._index.get((kind, _norm(kind, surface)))

    def names(self) -> set[str]:
        """Folded originals of the ``NOM`` entries."""
        return {norm for kind, norm in self._index if kind == "NOM"}

    def copy(self) -> PseudoKey:
        return PseudoKey(self._entries)

    def _add(self, kind: str, surface: str) -> str:
        """Placeholder for ``surface``, creating one if new. Only on a key this module owns."""
        ident = (kind, _norm(kind, surface))
        ph = self._index.get(ident)
        if ph is None:
            ph = f"[{kind}_{self._next[kind]}]"
            self._next[kind] += 1
            self._entries[ph] = surface
            self._index[ident] = ph
        return ph

    def to_json(self) -> str:
        return (
            json.dumps(
                {"format": KEY_FORMAT, "version": KEY_VERSION, "entries": self._entries},
                ensure_ascii=False,
                indent=1,
                allow_nan=False,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> PseudoKey:
        """Parse a key; ``ValueError`` saying what is wrong when it is not one."""
        try:
            d = json.loads(text)
        except (TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"pseudonymisation key: not valid JSON ({e})") from e
        if not isinstance(d, dict):
            raise ValueError("pseudonymisation key: expected a JSON object")
        if "entries" in d or "format" in d:
            if d.get("format") != KEY_FORMAT:
                raise ValueError(f"pseudonymisation key: format {d.get('format')!r}, expected {KEY_FORMAT!r}")
            if d.get("version") != KEY_VERSION:
                raise ValueError(f"pseudonymisation key: unsupported version {d.get('version')!r}")
            d = d.get("entries")
            if not isinstance(d, dict):
                raise ValueError("pseudonymisation key: 'entries' must be an object placeholder -> text")
        return cls(d)

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (temp file + rename), readable by the owner only (0600).

        Not locked: for a key file other runs may use at the same time, see :func:`locked_key`.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_json())
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)  # mkstemp files are 0600 already; say it
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> PseudoKey:
        """Read a key file; ``ValueError`` naming the file when it is unreadable or malformed.

        A key readable by group or others is made private (0600) with a warning; ``ValueError``
        when that is not possible (file of another user).
        """
        _make_private(Path(path))
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: cannot read the pseudonymisation key ({e})") from e
        try:
            return cls.from_json(text)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e


def _make_private(path: Path) -> None:
    """Tighten an existing key file readable by group/others to 0600 (warning), or refuse it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # missing or unreadable: the read that follows says so
    if not mode & 0o077 or not path.is_file():
        return
    try:
        os.chmod(path, 0o600)
    except OSError as e:
        raise ValueError(
            f"{path}: the pseudonymisation key is open to group/others (mode {mode:04o}) and cannot be "
            f"made private ({e}); run `chmod 600 {path}` as its owner"
        ) from e
    log.warning("%s: pseudonymisation key was open to group/others (mode %04o); now 0600", path, mode)


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@dataclass
class LockedKey:
    """The key of a key file, held under its lock (see :func:`locked_key`).

    Attributes:
        path: the key file.
        key: the key as read under the lock; set it to the extended key to have it saved.
    """

    path: Path
    key: PseudoKey


@contextmanager
def locked_key(path: str | os.PathLike) -> Iterator[LockedKey]:
    """Use a key file that other processes may read and extend at the same time.

    Takes an exclusive lock (``fcntl.flock`` on the sidecar ``<key>.lock``, created 0600 and left in
    place), reads the freshest key from ``path`` (empty when the file does not exist yet) and
    yields it in a :class:`LockedKey`; the caller sets ``.key`` to the extended key. On a normal
    exit the key is written atomically (0600) when it changed or the file did not exist, then the
    lock is released; after an exception nothing is written. Hold it for one transcript at a time::

        with locked_key("secret/key.json") as held:
            pseudo, held.key = pseudonymize(transcript, held.key)

    Raises:
        ValueError: the key file is malformed, not a file, open to others and cannot be made
            private, or ``.key`` was set to a key that drops or changes entries of the file.
        RuntimeError: file locking is not available (not a POSIX system) or the lock file cannot
            be opened.
    """
    path = Path(path)
    if fcntl is None:  # pragma: no cover - not POSIX
        raise RuntimeError("sharing a pseudonymisation key file needs POSIX file locks (fcntl)")
    if path.exists() and not path.is_file():
        raise ValueError(f"{path}: the pseudonymisation key is not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise RuntimeError(f"cannot open the lock file {lock} of the pseudonymisation key ({e})") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        existed = path.exists()
        fresh = PseudoKey.load(path) if existed else PseudoKey()
        held = LockedKey(path, fresh)
        yield held
        new = held.key
        if not isinstance(new, PseudoKey):
            raise ValueError(f"{path}: LockedKey.key must be a PseudoKey, got {type(new).__name__}")
        lost = [ph for ph, orig in fresh._entries.items() if new.get(ph) != orig]
        if lost:
            raise ValueError(
                f"{path}: the key to save drops or changes {len(lost)} entry(ies) of the key file "
                f"(e.g. {lost[0]}); extend the key read under the lock"
            )
        if new != fresh or not existed:
            new.save(path)
    finally:
        os.close(fd)  # releases the lock


def pseudonymize_with_key_file(
    transcript: Transcript, key_path: str | os.PathLike, options: PseudoOptions = PseudoOptions()
) -> tuple[Transcript, PseudoKey]:
    """:func:`pseudonymize` with a key file shared by concurrent runs (see :func:`locked_key`).

    The key is read under the lock, extended with this transcript's entities and saved before the
    lock is released, so two runs never give one placeholder to two people nor lose an entry.
    Write the pseudonymised output after this returns: the key is on disk first.

    Args:
        transcript: the transcript to pseudonymise.
        key_path: the key file; created (0600) when missing.
        options: what to look for.

    Returns:
        (pseudonymised transcript, the key as saved).
    """
    with locked_key(key_path) as held:
        out, held.key = pseudonymize(transcript, held.key, options)
    return out, held.key


# --------------------------------------------------------------------------- numbers

_UNITS = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16,
}  # fmt: skip
_TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
}  # fmt: skip
_NUMWORDS = sorted([*_UNITS, *_TENS, "zéro", "cent", "cents", "mille"], key=len, reverse=True)
_NW = "(?:" + "|".join(_NUMWORDS) + ")"
_NUM_ITEM = re.compile(rf"\d+|{_NW}|et", re.I)
# a run of numbers in digits or words, separated by spaces, hyphens, dots or commas (not slashes: dates)
_NUM_RUN = re.compile(rf"(?<![\w'’/])(?:\d+|{_NW})(?:(?:[\s,.\-]|\s*et\s+)+(?:\d+|{_NW}))*(?![\w'’/])", re.I)


def _teen(items: list[str], i: int) -> tuple[int, int] | None:
    """10..19 at items[i]: ``dix``, ``onze``..``seize``, ``dix sept``..``dix neuf``."""
    if i >= len(items):
        return None
    w = items[i]
    if w == "dix" and i + 1 < len(items) and items[i + 1] in ("sept", "huit", "neuf"):
        return 10 + _UNITS[items[i + 1]], 2
    if w in _UNITS and 10 <= _UNITS[w] <= 16:
        return _UNITS[w], 1
    return None


def _below_100(items: list[str], i: int) -> tuple[int, int] | None:
    """Parse one French number below 100 at items[i] (folded words): (value, items used)."""
    w = items[i]
    nxt = items[i + 1] if i + 1 < len(items) else ""
    if w == "quatre" and nxt in ("vingt", "vingts"):
        t = _teen(items, i + 2)
        if t:
            return 80 + t[0], 2 + t[1]
        if i + 2 < len(items) and items[i + 2] in _UNITS and 1 <= _UNITS[items[i + 2]] <= 9:
            return 80 + _UNITS[items[i + 2]], 3
        return 80, 2
    if w in _TENS:
        v = _TENS[w]
        if nxt == "et" and i + 2 < len(items) and items[i + 2] in ("un", "une", "onze"):
            return v + _UNITS[items[i + 2]], 3
        if v in (60, 80) or w == "soixante":
            t = _teen(items, i + 1)
            if t:
                return v + t[0], 1 + t[1]
        if nxt in _UNITS and 1 <= _UNITS[nxt] <= 9:
            return v + _UNITS[nxt], 2
        return v, 1
    t = _teen(items, i)
    if t:
        return t
    if w in _UNITS:
        return _UNITS[w], 1
    return None


def _number_groups(text: str) -> list[tuple[str, int, int]]:
    """Digit groups of a number run as spoken: ``"zéro six douze"`` -> ``["0", "6", "12"]``, each
    with the (start, end) character span it came from. Words that are no group (``cent``,
    ``mille``) give an empty group."""
    ms = list(_NUM_ITEM.finditer(text))
    items = [_fold(m.group()) for m in ms]
    out = []
    i = 0
    while i < len(items):
        if items[i].isdigit():
            out.append((items[i], ms[i].start(), ms[i].end()))
            i += 1
            continue
        p = _below_100(items, i)
        if p is None:
            out.append(("", ms[i].start(), ms[i].end()))
            i += 1
            continue
        v, n = p
        out.append((str(v), ms[i].start(), ms[i + n - 1].end()))
        i += n
    return out


def _number_digits(text: str) -> str:
    return "".join(g for g, _, _ in _number_groups(text))


# --------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class Entity:
    """A span of ``text[start:end]`` of one kind (``NOM``, ``TEL``...)."""

    start: int
    end: int
    kind: str
    text: str


_SEP = r"[\s,]+"
_FILL = r"(?:(?:heu|euh|hum|hm|ben|bah|alors|donc)[\s,]+)*"
_MONTH = r"(?:janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre)"
_NWORDS = rf"{_NW}(?:[\s\-]+(?:et[\s\-]+)?{_NW})*"
_DAY = rf"(?:\d{{1,2}}(?:er)?|premier|{_NWORDS})"
_YEAR = rf"(?:\d{{4}}|\d{{2}}|{_NWORDS})"
_DATE = (
    rf"(?:\d{{1,2}}\s*[/.\-]\s*\d{{1,2}}\s*[/.\-]\s*\d{{2,4}}"
    rf"|{_DAY}\s+{_MONTH}(?:{_SEP}{_FILL}{_YEAR}(?![\w]))?"
    rf"|{_MONTH}{_SEP}{_FILL}{_YEAR}(?![\w])"
    rf"|{_YEAR}(?![\w]))"
)
_DOB_RE = re.compile(
    rf"\b(?:n[ée]e?s?{_SEP}{_FILL}(?:à{_SEP}[\w'’\-]+(?:\s+[\w'’\-]+){{0,2}}{_SEP})?"
    rf"(?:le|en|au\s+mois\s+d[e']\s*|en\s+l'an)"
    rf"|date\s+de\s+naissance[\s,:]*{_FILL}(?:(?:c'est|c’est|est)\s+)?{_FILL}(?:le\s+)?)"
    rf"\s*{_FILL}(?P<date>{_DATE})",
    re.I,
)

_STRONG_STREET = (
    r"avenue|av\.|boulevard|bd|bld|all[ée]e|impasse|square|r[ée]sidence|lotissement|lieu[\s-]dit|hameau"
    r"|cit[ée]|faubourg|esplanade|promenade|parvis|sentier|rond[\s-]point"
)
_WEAK_STREET = r"rue|chemin|place|route|cours|passage|voie|quai|ruelle|chauss[ée]e|villa"
_HOUSE_NUMBER = rf"(?:\d{{1,4}}(?:\s*(?:bis|ter|[a-d])\b)?|(?!une?\b){_NWORDS}(?:\s+(?:bis|ter)\b)?)"
# words that end a street name: pronouns, verbs, conjunctions, prepositions, fillers
_STREET_STOP = _words(
    """
    je j' tu il elle on nous vous ils elles ça ca ce c'est c' qui que qu' et mais ou donc car alors puis
    est a ai sont suis était habite habitez habitons vais va au aux à dans sur chez pour avec en vers
    entre près heu euh hum bah ben voilà hein quoi oui non ok d'accord s'il depuis quand comme si
    escalier bâtiment batiment étage appartement porte code digicode interphone code
    """
)
_STREET_LINK = _words("de du des la le les l' d' saint sainte st ste")
_ADDRESS_CONTEXT = re.compile(
    r"\b(?:habit\w*|adresse|domicil\w*|demeur\w*|situ[ée]e?s?|se\s+trouve|vis|vit|vivons|vivent)\b[^.?!]{0,40}$",
    re.I,
)
_STREET_RE = re.compile(
    rf"(?:(?P<num>\b{_HOUSE_NUMBER}),?\s+)?(?P<type>\b(?:{_STRONG_STREET}|{_WEAK_STREET})\b)", re.I
)
_UNIT_RE = re.compile(
    rf"\b(?:b[âa]timent|b[âa]t\.?|escalier|esc\.|appartement|appart|apt\.?|porte|immeuble|digicode"
    rf"|code\s+(?:de\s+la\s+porte|porte|d'entr[ée]e|d'acc[èe]s|de\s+l'immeuble)|interphone)"
    rf"(?:\s+(?:n°|num[ée]ro|no\.?))?\s+(?P<val>[A-Z](?![\w'’])|[b-xz](?![\w'’])|\d+\s*[A-Za-z]?\b|{_NWORDS}\b)",
    re.I,
)
_POSTCODE_RE = re.compile(r"[\s,]*(?:\d{5}|\d{2}\s\d{3})\b(?:\s+[A-Z][\w\-]+(?:[\s\-][A-Z][\w\-]+)*)?")
_NIR_RE = re.compile(
    r"(?<![\w])[12378][\s.]?\d{2}[\s.]?(?:0[1-9]|1[0-2]|[2-9]\d)[\s.]?(?:\d{2}|2[ABab])[\s.]?\d{3}[\s.]?\d{3}"
    r"(?:[\s.]?\d{2})?(?![\w])"
)
_NIR_CONTEXT = re.compile(
    r"(?:s[ée]curit[ée]\s+sociale|s[ée]cu\b|carte\s+vitale|num[ée]ro\s+d'assur[ée]|\bnir\b|num[ée]ro\s+insee)"
    r"[^.?!]{0,60}$",
    re.I,
)
_TEL_CONTEXT = re.compile(
    r"(?:t[ée]l[ée]phone|portable|num[ée]ro|joindre|rappeler|\btel\b|\bfixe\b)[^.?!]{0,40}$", re.I
)
_PAUSE = re.compile(r"[,.;:!?…]")
# endings of lower-case words that are no names (verbs in -ez, adverbs in -ment, nouns in -tion...)
_NOT_NAME_ENDINGS = (
    "ez", "ment", "tion", "sion", "ique", "logue", "ais", "ait", "aient", "ons", "iez", "eux", "euse",
    "ible", "able", "isme", "iste", "ance", "ence", "age", "oir", "ée", "ee",
)  # fmt: skip
_TOKEN = re.compile(r"[^\W\d_](?:[\w'’\-]*[^\W_])?-?|\d+", re.U)
_ELISION = re.compile(r"^(?:[ldjmtnsc]|qu|jusqu|lorsqu|puisqu)['’]", re.I)


@dataclass(frozen=True)
class _Tok:
    start: int  # of the whole token
    end: int
    core_start: int  # after an elided article/pronoun (d'AVICENNE -> AVICENNE)
    core: str
    full: str  # folded whole token
    norm: str  # folded core


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        e = _ELISION.match(tok)
        cs = e.end() if e and e.end() < len(tok) else 0
        core = tok[cs:]
        out.append(_Tok(m.start(), m.end(), m.start() + cs, core, _fold(tok), _fold(core)))
    return out


def _sentence_start(text: str, pos: int) -> bool:
    j = pos - 1
    while j >= 0 and (text[j].isspace() or text[j] in "\"«»“”'(-–—\u200b"):
        j -= 1
    return j < 0 or text[j] in ".!?…:"


class _Lexicon:
    """Word lists folded once per options."""

    def __init__(self, options: PseudoOptions) -> None:
        self.opts = options
        self.keep = KEEP | {_fold(w) for w in options.keep_words}
        self.common = COMMON | self.keep
        self.names = {_fold(w) for n in options.names for w in _TOKEN.findall(n)}

    def is_alpha(self, t: _Tok) -> bool:
        return bool(t.core) and t.core[0].isalpha() and len(t.norm.rstrip("-")) >= 2

    def caps(self, t: _Tok) -> bool:
        letters = [c for c in t.core if c.isalpha()]
        return len(letters) >= 2 and all(c.isupper() for c in letters)

    def candidate(self, t: _Tok, *, after_trigger: bool) -> bool:
        """Could this token be (part of) a name?"""
        if not self.is_alpha(t) or t.norm in self.keep:
            return False
        if t.core_start != t.start and t.full in self.common:  # "d'accord", "c'est"
            return False
        if t.norm.endswith("-") and any(k.startswith(t.norm[:-1]) for k in self.keep):
            return False  # a drug or acronym cut short: "XA- non XARELTO"
        if t.norm in self.names or (self.opts.first_names and t.norm in FIRST_NAMES):
            return True
        capital = t.core[0].isupper()
        if t.norm in self.common:
            return after_trigger and capital and not self.caps(t) and t.norm not in _TITLES
        if capital:
            return True
        # lower case: only right after a title/introduction, and not an obvious verb/adverb/noun
        return after_trigger and t.core_start == t.start and not t.norm.endswith(_NOT_NAME_ENDINGS)


def _name_spans(text: str, toks: list[_Tok], lex: _Lexicon) -> list[Entity]:
    found: dict[int, _Tok] = {}

    def pause(a: int, b: int) -> bool:  # punctuation between two tokens ends a name
        return _PAUSE.search(text, toks[a].end, toks[b].start) is not None

    def take_after(j: int, limit: int = 3) -> None:
        prev = j - 1
        while j < len(toks) and toks[j].full in _FILLERS:
            j += 1
        n = 0
        while j < len(toks) and n < limit and lex.candidate(toks[j], after_trigger=True):
            if prev >= 0 and pause(prev, j):
                return
            if toks[j].full in _TITLES:  # "je m'appelle docteur X": the title triggers again
                return take_after(j + 1, limit)
            found[j] = toks[j]
            prev = j
            j += 1
            n += 1

    full = [t.full for t in toks]
    for i, t in enumerate(toks):
        if t.full in _TITLES:
            take_after(i + 1, 3)
        for intro in _INTRO:
            if tuple(full[i : i + len(intro)]) == intro:
                take_after(i + len(intro), 3)
        if tuple(full[i : i + 2]) == _APPAREIL:  # "X à l'appareil": look back
            j = i - 1
            while j >= 0 and toks[j].full in _FILLERS:
                j -= 1
            for _ in range(2):
                if j < 0 or not lex.candidate(toks[j], after_trigger=True) or toks[j].full in _TITLES:
                    break
                if pause(j, i if j == i - 1 else j + 1):
                    break
                found[j] = toks[j]
                j -= 1
        if i in found:
            continue
        if lex.candidate(t, after_trigger=False):
            if t.norm in lex.names or (lex.opts.first_names and t.norm in FIRST_NAMES):
                found[i] = t
            elif lex.opts.capitalized_names and t.core[0].isupper() and t.norm not in lex.common:
                # sentence-initial capitals are grammar, not names, unless in full capitals
                if lex.caps(t) or not _sentence_start(text, t.start):
                    found[i] = t
    return [Entity(t.core_start, t.end, "NOM", text[t.core_start : t.end]) for _, t in sorted(found.items())]


def _street_spans(text: str, toks: list[_Tok], lex: _Lexicon) -> list[Entity]:
    out = []
    for m in _STREET_RE.finditer(text):
        typ = _fold(m.group("type"))
        weak = re.fullmatch(_WEAK_STREET, typ, re.I) is not None
        # the street name: following tokens up to a stop word or punctuation, at most 6
        end = m.end()
        name_toks = []
        k = next((i for i, t in enumerate(toks) if t.start >= m.end()), len(toks))
        while k < len(toks) and len(name_toks) < 6:
            t = toks[k]
            if re.search(r"[.,;:!?]", text[end : t.start]) or t.full in _STREET_STOP:
                break
            if t.full.isdigit() and name_toks:
                break
            name_toks.append(t)
            end = t.end
            k += 1
        while name_toks and name_toks[-1].full in _STREET_LINK:
            name_toks.pop()
        end = name_toks[-1].end if name_toks else m.end("type")
        real = [t for t in name_toks if t.full not in _STREET_LINK]
        num = m.group("num")
        if num and _fold(num.strip()) in ("un", "une"):
            num = None
        if weak:
            context = _ADDRESS_CONTEXT.search(text[: m.start()]) is not None
            starts_ok = bool(name_toks) and (
                name_toks[0].full in _STREET_LINK
                or name_toks[0].core[:1].isupper()
                or name_toks[0].norm not in lex.common
            )
            if not ((num or context) and real and starts_ok):
                continue
        elif not real and not num:
            continue
        start = m.start("num") if num else m.start("type")
        pc = _POSTCODE_RE.match(text, end)
        if pc and pc.group().strip():
            end = pc.end()
        out.append(Entity(start, end, "ADRESSE", text[start:end]))
    for m in _UNIT_RE.finditer(text):
        val = m.group("val")
        if _fold(val.strip()) in ("un", "une") or (val.strip().lower() == "a" and val.strip() != "A"):
            continue
        out.append(Entity(m.start(), m.end(), "ADRESSE", m.group()))
    return out


def _number_spans(text: str) -> list[Entity]:
    out = []
    for m in _NUM_RUN.finditer(text):
        groups = [(g, s + m.start(), e + m.start()) for g, s, e in _number_groups(m.group())]
        nir_ctx = _NIR_CONTEXT.search(text[: m.start()]) is not None
        tel_ctx = _TEL_CONTEXT.search(text[: m.start()]) is not None
        digits = "".join(g for g, _, _ in groups)
        if nir_ctx and len(groups) >= 5 and len(digits) >= 10:
            out.append(Entity(groups[0][1], groups[-1][2], "NIR", text[groups[0][1] : groups[-1][2]]))
            continue
        i = 0
        while i < len(groups):
            g = groups[i][0]
            before = text[: groups[i][1]].rstrip()
            intl = g == "33" and (before.endswith("+") or _fold(before).endswith("plus"))
            if not (g.startswith("0") or intl) or g == "0" and i + 1 == len(groups):
                i += 1
                continue
            acc, j = "", i
            while j < len(groups) and groups[j][0] and len(acc) < (11 if intl else 10):
                acc += groups[j][0]
                j += 1
            need = 11 if intl else 10
            if len(acc) == need or (tel_ctx and need - 2 <= len(acc) < need):
                start = groups[i][1]
                if intl:
                    start = len(before) - (1 if before.endswith("+") else 4)
                out.append(Entity(start, groups[j - 1][2], "TEL", text[start : groups[j - 1][2]]))
                i = j
            else:
                i += 1
    for m in _NIR_RE.finditer(text):
        out.append(Entity(m.start(), m.end(), "NIR", m.group()))
    return out


def _dob_spans(text: str) -> list[Entity]:
    out = []
    for m in _DOB_RE.finditer(text):
        s, e = m.span("date")
        date = text[s:e]
        trimmed = re.sub(r"(?:[\s\-]+et)+$", "", date, flags=re.I)
        e = s + len(trimmed)
        if _fold(trimmed) in ("un", "une"):  # "née en un clin d'œil"
            continue
        out.append(Entity(s, e, "DATE_NAISSANCE", text[s:e]))
    return out


def _resolve(spans: list[Entity]) -> list[Entity]:
    """Non-overlapping spans, longer first, then by kind priority; sorted by position."""
    chosen: list[Entity] = []
    for sp in sorted(spans, key=lambda x: (-(x.end - x.start), _PRIORITY[x.kind], x.start)):
        if sp.end > sp.start and all(sp.end <= c.start or sp.start >= c.end for c in chosen):
            chosen.append(sp)
    return sorted(chosen, key=lambda x: x.start)


def _detect(text: str, lex: _Lexicon) -> list[Entity]:
    kinds = set(lex.opts.kinds)
    toks = _tokens(text)
    spans: list[Entity] = []
    if kinds & {"TEL", "NIR"}:
        spans += [s for s in _number_spans(text) if s.kind in kinds]
    if "DATE_NAISSANCE" in kinds:
        spans += _dob_spans(text)
    if "ADRESSE" in kinds:
        spans += _street_spans(text, toks, lex)
    if "NOM" in kinds:
        spans += _name_spans(text, toks, lex)
    return _resolve(spans)


def _spread(text: str, taken: list[Entity], names: set[str], lex: _Lexicon) -> list[Entity]:
    """Add every other occurrence of a known name (not a common word) to ``taken``."""
    if not names or "NOM" not in lex.opts.kinds:
        return taken
    extra = []
    for t in _tokens(text):
        if t.norm in names and t.norm not in lex.common and lex.is_alpha(t):
            if all(t.end <= c.start or t.core_start >= c.end for c in taken):
                extra.append(Entity(t.core_start, t.end, "NOM", text[t.core_start : t.end]))
    return sorted(taken + extra, key=lambda x: x.start) if extra else taken


def find_entities(
    text: str, options: PseudoOptions = PseudoOptions(), known_names: Iterable[str] = ()
) -> list[Entity]:
    """Personal data in ``text``: non-overlapping :class:`Entity` spans in text order.

    Args:
        text: one utterance or any plain French text.
        options: what to look for.
        known_names: names (any case) whose every occurrence is replaced too.
    """
    lex = _Lexicon(options)
    spans = _detect(text, lex)
    names = {_fold(n) for n in known_names} | lex.names
    if options.spread_names:
        names |= {_fold(s.text) for s in spans if s.kind == "NOM"}
    return _spread(text, spans, names, lex)


def _apply(text: str, spans: list[Entity], key: PseudoKey) -> str:
    out, pos = [], 0
    for sp in spans:
        out.append(text[pos : sp.start])
        out.append(key._add(sp.kind, sp.text))
        pos = sp.end
    out.append(text[pos:])
    return "".join(out)


def pseudonymize_text(
    text: str, key: PseudoKey | None = None, options: PseudoOptions = PseudoOptions()
) -> tuple[str, PseudoKey]:
    """Replace personal data in a plain string.

    Args:
        text: French text (an utterance, a training example).
        key: placeholders given so far (reused for the same entities); not modified.
        options: what to look for.

    Returns:
        (pseudonymised text, the key extended with this text's entities).
    """
    key = key.copy() if key is not None else PseudoKey()
    known = key.names() if options.spread_names else set()
    spans = find_entities(text, options, known)
    return _apply(text, spans, key), key


# --------------------------------------------------------------------------- transcripts


def _align(text: str, words: tuple[Word, ...]) -> list[tuple[int, int]] | None:
    """Character span of each word's stripped text in ``text``, or ``None`` when the words are
    not the text (in order, with only punctuation/space between them)."""
    spans, pos = [], 0
    for w in words:
        s = w.text.strip()
        if not s:
            spans.append((pos, pos))
            continue
        i = text.find(s, pos)
        if i < 0 or any(c.isalnum() for c in text[pos:i]):
            return None
        spans.append((i, i + len(s)))
        pos = i + len(s)
    if any(c.isalnum() for c in text[pos:]):
        return None
    return spans


def _replace_words(
    words: tuple[Word, ...], text: str, spans: list[tuple[int, int]], ents: list[Entity], key: PseudoKey
) -> tuple[Word, ...]:
    """Words with entities replaced; a multi-word entity becomes one word spanning them."""
    # indices of words each entity touches; chains of touching entities merge into one group
    groups: list[list[int]] = []  # [first_word, last_word]
    for e in ents:
        hit = [i for i, (s, t) in enumerate(spans) if s < e.end and t > e.start and t > s]
        if not hit:
            continue
        lo, hi = hit[0], hit[-1]
        if groups and lo <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], hi)
        else:
            groups.append([lo, hi])
    if not groups:
        return words
    out: list[Word] = []
    i = 0
    for lo, hi in groups:
        out.extend(words[i:lo])
        gs = min(spans[lo][0], *(e.start for e in ents if e.start < spans[hi][1] and e.end > spans[lo][0]))
        ge = max(spans[hi][1], *(e.end for e in ents if e.start < spans[hi][1] and e.end > spans[lo][0]))
        inner = [
            replace(e, start=e.start - gs, end=e.end - gs) for e in ents if e.start >= gs and e.end <= ge
        ]
        new = _apply(text[gs:ge], inner, key)
        lead = words[lo].text[: len(words[lo].text) - len(words[lo].text.lstrip())]
        probs = [w.prob for w in words[lo : hi + 1] if w.prob is not None]
        out.append(
            Word(
                lead + new,
                words[lo].start,
                max(w.end for w in words[lo : hi + 1]),
                min(probs) if probs else None,
                words[lo].speaker,
            )
        )
        i = hi + 1
    out.extend(words[i:])
    return tuple(out)


def pseudonymize(
    transcript: Transcript, key: PseudoKey | None = None, options: PseudoOptions = PseudoOptions()
) -> tuple[Transcript, PseudoKey]:
    """Replace personal data in every segment's text and words.

    Names found anywhere in the transcript are replaced everywhere in it (and names already in
    ``key`` too, when ``options.spread_names``). Word timings are kept; an entity spanning several
    words becomes one word from the first word's start to the last word's end.

    Args:
        transcript: the transcript to pseudonymise.
        key: placeholders from earlier transcripts (same entity -> same placeholder); not modified.
        options: what to look for.

    Returns:
        (pseudonymised transcript, the key extended with this transcript's entities).
    """
    key = key.copy() if key is not None else PseudoKey()
    lex = _Lexicon(options)
    # pass 1: what each segment says on its own; names found anywhere count everywhere
    found = [_detect(s.text, lex) for s in transcript.segments]
    names = set(lex.names)
    if options.spread_names:
        names |= key.names()
        names |= {_fold(e.text) for ents in found for e in ents if e.kind == "NOM"}
    segs = []
    n_ent = 0
    for seg, ents in zip(transcript.segments, found):
        ents = _spread(seg.text, ents, names, lex)
        n_ent += len(ents)
        text = _apply(seg.text, ents, key)
        words = seg.words
        if words:
            spans = _align(seg.text, words)
            if spans is None:  # words are not the text (edited text, ASR words with their own marks)
                wtext = " ".join(w.text.strip() for w in words)
                spans, pos = [], 0
                for w in words:
                    n = len(w.text.strip())
                    spans.append((pos, pos + n))
                    pos += n + 1
                wents = _spread(wtext, _detect(wtext, lex), names, lex)
                words = _replace_words(words, wtext, spans, wents, key)
            else:
                words = _replace_words(words, seg.text, spans, ents, key)
        segs.append(replace(seg, text=text, words=words))
    log.debug("pseudonymised %d segments: %d entities", len(segs), n_ent)
    return replace(transcript, segments=tuple(segs)), key


def reidentify_text(text: str, key: PseudoKey, strict: bool = True) -> str:
    """Put the original text back for every placeholder of ``key`` in ``text``.

    Args:
        strict: raise ``ValueError`` on a placeholder the key does not have (wrong key);
            otherwise leave it as it is.
    """

    def sub(m: re.Match) -> str:
        orig = key.get(m.group())
        if orig is None:
            if strict:
                raise ValueError(f"placeholder {m.group()} is not in the key (wrong key file?)")
            return m.group()
        return orig

    return PLACEHOLDER_RE.sub(sub, text)


def reidentify(transcript: Transcript, key: PseudoKey, strict: bool = True) -> Transcript:
    """Undo :func:`pseudonymize`: placeholders in segment texts and words back to the originals.

    The text comes back exactly when each entity was written one way in the input; an entity
    written several ways (``Dupont``/``DUPONT``) comes back as its first-seen form. A merged
    multi-word entity stays one word holding the original words.

    Raises:
        ValueError: (``strict``) a placeholder is missing from ``key``.
    """
    segs = tuple(
        replace(
            s,
            text=reidentify_text(s.text, key, strict),
            words=tuple(replace(w, text=reidentify_text(w.text, key, strict)) for w in s.words),
        )
        for s in transcript.segments
    )
    return replace(transcript, segments=segs)
