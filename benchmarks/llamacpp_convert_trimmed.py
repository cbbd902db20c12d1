"""Convert a vocabulary-trimmed Gemma 3 (the summary model, merged) to GGUF with llama.cpp's
``convert_hf_to_gguf.py`` (measurement only; see ``bench_llamacpp.py``).

The stock converter cannot read a trimmed Gemma 3 (only ``tokenizer.json``, an unknown BPE
pre-tokenizer hash), so this wrapper replaces its vocabulary step: the trimmed token strings are
written as a SentencePiece ("llama") vocabulary with the original Gemma 3 GGUF's scores and types
at the kept ids (``vocab_keep.json``), then the converter runs as usual.

    .venv/bin/python benchmarks/llamacpp_convert_trimmed.py LLAMA_CPP_DIR ORIGINAL.gguf \\
        vocab_keep.json MERGED_MODEL_DIR --outtype f16 --outfile summary-f16.gguf

``LLAMA_CPP_DIR``: ``vendor/llama.cpp`` of the llama-cpp-python sdist (its ``gguf-py`` is put
first on the path: the installed ``gguf`` may be older than the converter).
"""

from __future__ import annotations

import json
import runpy
import sys


def main() -> None:
    lcpp, orig, keep_file = sys.argv[1:4]
    del sys.argv[1:4]
    sys.path[:0] = [lcpp, lcpp + "/gguf-py"]
    import gguf
    from conversion import gemma

    reader = gguf.GGUFReader(orig)

    def field(name: str) -> list:
        f = reader.fields[name]
        return [f.parts[i] for i in f.data]

    toks = [bytes(p).decode("utf-8") for p in field("tokenizer.ggml.tokens")]
    scores = [float(p[0]) for p in field("tokenizer.ggml.scores")]
    types = [int(p[0]) for p in field("tokenizer.ggml.token_type")]
    with open(keep_file, encoding="utf-8") as fh:
        keep = json.load(fh)

    def set_vocab(self) -> None:
        with open(self.dir_model / "tokenizer.json", encoding="utf-8") as fh:
            tj = json.load(fh)
        vocab = {i: t for t, i in tj["model"]["vocab"].items()}
        n = len(vocab)
        if len(keep) != n:
            raise SystemExit(f"{keep_file}: {len(keep)} kept ids for a vocabulary of {n}")
        bad = [i for i in range(n) if toks[keep[i]] != vocab[i]]
        print(f"trimmed vocab {n}, differing from the original at kept ids: {len(bad)} {bad[:5]}")
        self.gguf_writer.add_tokenizer_model("llama")
        self.gguf_writer.add_tokenizer_pre("default")
        self.gguf_writer.add_token_list([vocab[i] for i in range(n)])
        self.gguf_writer.add_token_scores([scores[keep[i]] for i in range(n)])
        self.gguf_writer.add_token_types([types[keep[i]] for i in range(n)])
        gguf.SpecialVocab(self.dir_model, n_vocab=n).add_to_gguf(self.gguf_writer)
        self.gguf_writer.add_add_space_prefix(False)

    gemma.Gemma3Model.set_vocab = set_vocab
    sys.argv[0] = lcpp + "/convert_hf_to_gguf.py"
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
