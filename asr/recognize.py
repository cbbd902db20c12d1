"""Speech recognition backends behind one small interface.

``AsrBackend.recognize(audio, regions, offset) -> (words, language)`` transcribes the speech
``regions`` (seconds, relative to ``audio``) of a mono 16 kHz array and returns words with
absolute times (``offset`` added). Only speech regions are decoded: they are concatenated
with short silent gaps, decoded in one go, and word times are mapped back.

Backends:

* ``faster-whisper`` (default): CTranslate2, int8 on CPU, on the bundled Whisper base
  weights or any CT2 directory / size name.
* ``transformers``: ``WhisperForConditionalGeneration`` from any local directory or hub id
  (a hub id loads from the local hub cache; it is downloaded only with ``allow_download``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from asr.audio import SAMPLE_RATE
from asr.transcript import Word

log = logging.getLogger(__name__)

BACKENDS = ("faster-whisper", "transformers")
COMPUTE_TYPES = (
    "default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
    "int16", "float16", "bfloat16", "float32",
)  # fmt: skip
GAP_SECONDS = 0.3  # silence inserted between concatenated speech regions
MIN_RETRY_S = 1.0  # a speech region at least this long that got no word is decoded again


MAX_REPEATS = 3  # a word or phrase said more often than this in a row is a decoding loop


def drop_loops(words: list[Word], max_repeats: int = MAX_REPEATS, max_n: int = 4) -> list[Word]:
    """Cut Whisper's repetition loops (``de l'entraînement de l'entraînement ...`` thirty times):
    a run of one word or phrase (up to ``max_n`` words) repeated back to back keeps its first
    ``max_repeats`` occurrences. Case and punctuation are ignored when comparing."""

    def norm(w: Word) -> str:
        return "".join(c for c in w.text.casefold() if c.isalnum())

    out: list[Word] = []
    keys: list[str] = []
    for w in words:
        out.append(w)
        keys.append(norm(w))
        for n in range(1, max_n + 1):
            k = n * (max_repeats + 1)
            if len(keys) >= k and all(keys[-k + j] == keys[-k + j % n] for j in range(k)):
                del out[-n:], keys[-n:]
                break
    return out


def _has_word_in(words: list[Word], region: tuple[float, float], offset: float) -> bool:
    s, e = region[0] + offset, region[1] + offset
    return any(w.end > s and w.start < e for w in words)


@dataclass(frozen=True)
class AsrOptions:
    """Recognition settings.

    Attributes:
        backend: ``faster-whisper`` or ``transformers``.
        model: model directory, hub id or size name; ``None`` = bundled Whisper base.
        language: forced language code (default French); ``None`` detects it.
        beam_size: beam width (1 = greedy).
        compute_type: CTranslate2 compute type (``int8``, ``int8_float32``, ``float32``...).
        device: ``cpu`` or ``cuda``.
        cpu_threads: threads for CTranslate2 (0 = its default).
        condition_on_previous_text: feed the previous window's text as prompt (off by
            default: it makes hallucination loops less likely on noisy calls).
        no_speech_threshold: Whisper skips a 30 s window whose no-speech probability is above
            this (and whose average log-probability is below -1); ``None`` never skips
            (the VAD already removed non-speech).
        temperatures: faster-whisper only, sequential decoding: Whisper's temperature
            fallback. A 30 s window is decoded at the first temperature (beam search at 0)
            and re-decoded by sampling at the next ones while its output looks wrong
            (compression ratio > 2.4: a repetition loop; average log-probability < -1).
            ``(0.0,)`` never re-decodes.
        batch_size: faster-whisper only. ``0`` (default): sequential decoding with Whisper's
            temperature fallback (re-decodes a window whose output looks wrong). ``N >= 2``:
            speech is cut into chunks of at most 30 s at VAD boundaries and decoded N at a
            time (faster-whisper's batched pipeline, one temperature, no fallback): several
            times faster on long audio, same WER on clean speech, worse on very poor audio.
        initial_prompt: faster-whisper only: text given to Whisper as previous context for
            the first window (vocabulary help: ``"SMUR, dyspnée, Doliprane..."``); ``None``
            (default: a SAMU vocabulary prompt raised WER on telephone prompts from 25.3 % to
            43.0 %, mostly insertions; ``benchmarks/results/asr_vocab.json``).
        hotwords: faster-whisper only: words to favour, given as a prompt on every window;
            ``None`` (default: SAMU hotwords made WER worse still).
        detect_language: run Whisper's language identification once per file (on the
            first 30 s of speech; faster-whisper reads it from the first decoded window's
            encoder output, no extra pass) even when ``language`` is forced, so that the
            transcript reports the language actually spoken (``Transcript.detected_language``)
            and a French call that is not in French can be flagged.
        seed: random seed of the temperature-fallback sampling (CTranslate2's global seed,
            set before each call), meant to make the same audio give the same transcript;
            ``None`` leaves it alone. Caveat (measured): within one process a file that falls
            back to sampling can still come out differently on a second call.
        allow_download: fetch a hub ``model`` that is not in the local Hugging Face cache
            (off by default: such a model fails at once with a ``ValueError``; see
            :func:`asr.models.resolve_hub_model`).
    """

    backend: str = "faster-whisper"
    model: str | None = None
    language: str | None = "fr"
    beam_size: int = 5
    compute_type: str = "int8"
    device: str = "cpu"
    cpu_threads: int = 0
    condition_on_previous_text: bool = False
    no_speech_threshold: float | None = 0.6
    batch_size: int = 0
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    initial_prompt: str | None = None
    hotwords: str | None = None
    detect_language: bool = True
    seed: int | None = 0
    allow_download: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.allow_download, bool):
            raise ValueError(f"AsrOptions.allow_download must be a bool, got {self.allow_download!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"AsrOptions.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.beam_size < 1:
            raise ValueError(f"AsrOptions.beam_size must be >= 1, got {self.beam_size}")
        if self.language is not None and not (2 <= len(self.language) <= 3 and self.language.isalpha()):
            raise ValueError(
                f"AsrOptions.language must be a language code like 'fr' or None, got {self.language!r}"
            )
        if self.cpu_threads < 0:
            raise ValueError(f"AsrOptions.cpu_threads must be >= 0, got {self.cpu_threads}")
        if self.device not in ("cpu", "cuda", "auto") and not self.device.startswith("cuda:"):
            raise ValueError(
                f"AsrOptions.device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}"
            )
        if self.compute_type not in COMPUTE_TYPES:
            raise ValueError(
                f"AsrOptions.compute_type must be one of {COMPUTE_TYPES}, got {self.compute_type!r}"
            )
        if self.batch_size < 0 or self.batch_size == 1:
            raise ValueError(f"AsrOptions.batch_size must be 0 (sequential) or >= 2, got {self.batch_size}")
        if not isinstance(self.temperatures, tuple):
            object.__setattr__(self, "temperatures", tuple(self.temperatures))
        if not self.temperatures or any(not 0.0 <= t <= 1.0 for t in self.temperatures):
            raise ValueError(
                f"AsrOptions.temperatures must be a non-empty list of values in [0, 1], got {self.temperatures}"
            )
        if self.no_speech_threshold is not None and not 0.0 <= self.no_speech_threshold <= 1.0:
            raise ValueError(
                f"AsrOptions.no_speech_threshold must be in [0, 1] or None, got {self.no_speech_threshold}"
            )


class AsrBackend(Protocol):
    def recognize(
        self, audio: np.ndarray, regions: list[tuple[float, float]], offset: float = 0.0
    ) -> tuple[list[Word], str | None]: ...

    def detect_language(
        self, audio: np.ndarray, regions: list[tuple[float, float]]
    ) -> tuple[str, float] | None: ...


LANGUAGE_ID_SECONDS = 30.0  # speech Whisper's language identification looks at (one window)


def speech_head(audio: np.ndarray, regions: list[tuple[float, float]], seconds: float = LANGUAGE_ID_SECONDS):
    """The first ``seconds`` of speech of ``audio``: its ``regions`` packed (see
    :func:`pack_regions`) and cut to length; an empty array when there is none."""
    return pack_regions(audio, regions).audio[: int(seconds * SAMPLE_RATE)]


# --------------------------------------------------------------------------- region packing


@dataclass(frozen=True)
class _Packed:
    audio: np.ndarray
    # (packed_start, packed_end, original_start) per region, seconds
    spans: tuple[tuple[float, float, float], ...]

    def to_original(self, t: float) -> float:
        """Map a time in the packed audio back to the original audio. A time inside an
        inserted gap goes to the nearest region edge (Whisper often starts a word a little
        early: it belongs to the next region, not to the end of the previous one)."""
        for i, (ps, pe, os_) in enumerate(self.spans):
            if t <= pe:
                if t >= ps:
                    return os_ + t - ps
                if i == 0:
                    return os_
                pps, ppe, pos = self.spans[i - 1]
                return pos + ppe - pps if t - ppe < ps - t else os_
        ps, pe, os_ = self.spans[-1]
        return os_ + pe - ps


def pack_regions(audio: np.ndarray, regions: list[tuple[float, float]]) -> _Packed:
    """Concatenate speech regions with ``GAP_SECONDS`` of silence between them."""
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), np.float32)
    parts, spans, pos = [], [], 0.0
    for s, e in regions:
        a = audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)]
        if a.size == 0:
            continue
        if parts:
            parts.append(gap)
            pos += gap.size / SAMPLE_RATE
        parts.append(a)
        spans.append((pos, pos + a.size / SAMPLE_RATE, s))
        pos += a.size / SAMPLE_RATE
    return _Packed(np.concatenate(parts) if parts else np.zeros(0, np.float32), tuple(spans))


def _words_back(
    to_original: Callable[[float], float], raw: list[tuple[str, float, float, float | None]], offset: float
) -> list[Word]:
    """Map decoded times back with ``to_original`` (plus ``offset``); glue pieces that Whisper
    emits without a leading space (``l`` + ``'accident``, ``excusez`` + ``-nous``) into one word."""
    out: list[Word] = []
    for text, s, e, p in raw:
        glue = bool(out) and not text[:1].isspace() and text.strip()[:1] in ("'", "’", "-")
        text = text.strip()
        if not text:
            continue
        os_, oe = float(to_original(s) + offset), float(to_original(e) + offset)
        if glue:
            prev = out[-1]
            prob = p if prev.prob is None else (prev.prob if p is None else min(prev.prob, p))
            out[-1] = Word(prev.text + text, prev.start, max(prev.end, oe), prob)
        else:
            out.append(Word(text, os_, max(os_, oe), None if p is None else float(p)))
    return out


# --------------------------------------------------------------------------- faster-whisper


class FasterWhisperBackend:
    """faster-whisper (CTranslate2) backend. The model is loaded once, when the backend is built:
    build it once (:func:`make_backend`, :func:`asr.pipeline.load_front_end`) and reuse it."""

    def __init__(self, opts: AsrOptions):
        from asr.models import resolve_whisper

        try:
            from faster_whisper import WhisperModel
        except ImportError as e:  # pragma: no cover
            raise RuntimeError("the faster-whisper backend needs: pip install faster-whisper") from e
        self.opts = opts
        path = resolve_whisper(opts.model, opts.allow_download)  # ValueError at once when not found
        try:
            self.model = WhisperModel(
                path,
                device=opts.device,
                compute_type=opts.compute_type,
                cpu_threads=opts.cpu_threads,
                local_files_only=True if _is_local(path) else False,
            )
        except Exception as e:
            raise RuntimeError(f"cannot load faster-whisper model {path!r}: {e}") from e

    def recognize(self, audio, regions, offset=0.0):
        words, language, _ = self._recognize(audio, regions, offset, identify=False)
        return words, language

    def recognize_identify(self, audio, regions, offset=0.0):
        """:meth:`recognize` plus Whisper's language identification on the first 30 s of
        speech, read from the encoder output the decoding computes anyway (no extra encoder
        pass): ``(words, language, (code, probability) or None)``."""
        return self._recognize(audio, regions, offset, identify=True)

    def _recognize(self, audio, regions, offset, identify):
        if self.opts.seed is not None:
            import ctranslate2

            ctranslate2.set_random_seed(self.opts.seed)
        if self.opts.batch_size >= 2:
            detected = self.detect_language(audio, regions) if identify else None
            return (*self._recognize_batched(audio, regions, offset), detected)
        heard: list[tuple[str, float]] = []
        words, language = self._decode(
            audio,
            regions,
            offset,
            self.opts.temperatures,
            self.opts.no_speech_threshold,
            heard if identify else None,
        )
        # Speech the VAD found but Whisper dropped whole: on poor audio every temperature of the
        # fallback can fail its checks (a repetition loop at 0, noise when sampling), and the
        # window is then thrown away as "no speech" -- a whole call came out empty that way.
        # Such regions get one more, deterministic pass: beam search only, nothing skipped.
        missed = [r for r in regions if r[1] - r[0] >= MIN_RETRY_S and not _has_word_in(words, r, offset)]
        if missed and (len(self.opts.temperatures) > 1 or self.opts.no_speech_threshold is not None):
            log.debug("%d speech regions without words: decoding them again at temperature 0", len(missed))
            again, _ = self._decode(audio, missed, offset, (self.opts.temperatures[0],), None)
            words = sorted(words + again, key=lambda w: (w.start, w.end))
        # a loop can slip through when every temperature failed, and the second pass has no
        # fallback at all
        words = drop_loops(words)
        if identify and not heard:  # nothing encoded, or a model without language tokens
            return words, language, self.detect_language(audio, regions)
        return words, language, heard[0] if heard else None

    def _decode(self, audio, regions, offset, temperatures, no_speech_threshold, heard=None):
        """One faster-whisper pass over the packed ``regions``. ``heard``: a list that receives
        ``(code, probability)`` from the first encoded 30 s window (the first 30 s of speech)."""
        packed = pack_regions(audio, regions)
        if packed.audio.size == 0:
            return [], self.opts.language
        if heard is None or not self.model.model.is_multilingual:
            return self._transcribe_packed(packed, offset, temperatures, no_speech_threshold)
        encode = self.model.encode

        def encode_and_identify(features):
            out = encode(features)
            if not heard:
                token, prob = self.model.model.detect_language(out)[0][0]
                heard.append((token[2:-2], float(prob)))
            return out

        self.model.encode = encode_and_identify  # for this pass only (one file at a time)
        try:
            return self._transcribe_packed(packed, offset, temperatures, no_speech_threshold)
        finally:
            del self.model.encode

    def _transcribe_packed(self, packed, offset, temperatures, no_speech_threshold):
        segments, info = self.model.transcribe(
            packed.audio,
            language=self.opts.language,
            task="transcribe",
            beam_size=self.opts.beam_size,
            temperature=list(temperatures),
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=self.opts.condition_on_previous_text,
            no_speech_threshold=no_speech_threshold,
            initial_prompt=self.opts.initial_prompt,
            hotwords=self.opts.hotwords,
        )
        raw = []
        for seg in segments:  # lazy: decoding (and encoding) happens in this loop
            for w in seg.words or ():
                raw.append((w.word, w.start, w.end, w.probability))
        return _words_back(packed.to_original, raw, offset), info.language

    def detect_language(self, audio, regions):
        """Whisper's language identification on the first 30 s of speech in ``regions``:
        ``(code, probability)``, or ``None`` without speech or for an English-only model."""
        head = speech_head(audio, regions)
        if head.size == 0 or not self.model.model.is_multilingual:
            return None
        lang, prob, _ = self.model.detect_language(audio=head)
        return lang, float(prob)

    def _recognize_batched(self, audio, regions, offset):
        from faster_whisper import BatchedInferencePipeline

        clips = clip_chunks(regions)
        if not clips:
            return [], self.opts.language
        if getattr(self, "_batched", None) is None:
            self._batched = BatchedInferencePipeline(self.model)
        segments, info = self._batched.transcribe(
            audio,
            language=self.opts.language,
            task="transcribe",
            beam_size=self.opts.beam_size,
            clip_timestamps=clips,
            batch_size=self.opts.batch_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            no_speech_threshold=self.opts.no_speech_threshold,
        )
        raw = [(w.word, w.start, w.end, w.probability) for seg in segments for w in seg.words or ()]
        # clip times are positions in ``audio`` itself: no packing to undo
        return _words_back(float, raw, offset), info.language


def clip_chunks(
    regions: list[tuple[float, float]], max_len: float = 30.0, max_pause: float = 2.0
) -> list[dict]:
    """Group speech regions into clips of at most ``max_len`` seconds for batched decoding:
    consecutive regions join while the clip stays short enough and the pause between them is
    under ``max_pause``; a longer region is cut into ``max_len`` pieces."""
    out: list[list[float]] = []
    for s, e in regions:
        while e - s > max_len:
            out.append([s, s + max_len])
            s += max_len
        if out and e - out[-1][0] <= max_len and s - out[-1][1] < max_pause:
            out[-1][1] = e
        else:
            out.append([s, e])
    return [{"start": float(a), "end": float(b)} for a, b in out if b > a]


def _is_local(path: str) -> bool:
    from pathlib import Path

    return Path(path).exists()


# --------------------------------------------------------------------------- transformers


class TransformersBackend:
    """transformers Whisper backend (any local directory or hub id).

    ``model=None`` uses the bundled Whisper base converted once to a transformers checkpoint
    (see :mod:`asr.convert`).
    """

    def __init__(self, opts: AsrOptions):
        try:
            import torch  # noqa: F401

            from asr._compat import ensure_torchaudio_importable

            ensure_torchaudio_importable()
            from transformers import WhisperForConditionalGeneration, WhisperProcessor, pipeline
        except ImportError as e:  # pragma: no cover
            raise RuntimeError("the transformers backend needs: pip install transformers torch") from e
        self.opts = opts
        src = opts.model
        if src is None or src in ("whisper-base", "base", "bundled"):
            from asr.convert import cached_transformers_whisper

            src = str(cached_transformers_whisper())
        else:
            from asr.models import resolve_hub_model

            # a local path, or a hub id from the cache; ValueError at once otherwise
            src = resolve_hub_model(src, opts.allow_download, field="AsrOptions.model")
        try:
            proc = WhisperProcessor.from_pretrained(src)
            model = WhisperForConditionalGeneration.from_pretrained(src).to(opts.device).eval()
        except Exception as e:
            raise RuntimeError(f"cannot load transformers Whisper model {src!r}: {e}") from e
        self.processor, self.model = proc, model
        self.pipe = pipeline(
            "automatic-speech-recognition",
            model=model,
            tokenizer=proc.tokenizer,
            feature_extractor=proc.feature_extractor,
            chunk_length_s=30,
            device=opts.device,
        )

    def recognize(self, audio, regions, offset=0.0):
        import torch

        packed = pack_regions(audio, regions)
        if packed.audio.size == 0:
            return [], self.opts.language
        language = self.opts.language or self._detect_language(packed.audio)
        gen = {"task": "transcribe", "num_beams": self.opts.beam_size}
        if language:
            gen["language"] = language
        with torch.inference_mode():
            out = self.pipe(
                {"raw": packed.audio, "sampling_rate": SAMPLE_RATE},
                return_timestamps="word",
                generate_kwargs=gen,
            )
        raw = []
        for ch in out.get("chunks") or ():
            s, e = ch["timestamp"]
            if s is None:
                continue
            raw.append((ch["text"], float(s), float(e if e is not None else s), None))
        return _words_back(packed.to_original, raw, offset), language

    def _detect_language(self, audio: np.ndarray) -> str | None:
        """Most likely language code on the first 30 s (``None`` if the model can't say)."""
        r = self._language_probs(audio)
        return r[0] if r else None

    def detect_language(self, audio, regions):
        """Whisper's language identification on the first 30 s of speech in ``regions``:
        ``(code, probability)``, or ``None`` without speech or language tokens."""
        head = speech_head(audio, regions)
        return self._language_probs(head) if head.size else None

    def _language_probs(self, audio: np.ndarray) -> tuple[str, float] | None:
        """One decoder step after ``<|startoftranscript|>``, softmax over the language tokens
        only (as openai-whisper's ``detect_language``)."""
        import torch

        tok = self.processor.tokenizer
        lang_ids = getattr(self.model.generation_config, "lang_to_id", None) or {}
        sot = tok.convert_tokens_to_ids("<|startoftranscript|>")
        if not lang_ids or sot is None or sot == tok.unk_token_id:
            return None
        feats = self.processor.feature_extractor(
            audio[: int(LANGUAGE_ID_SECONDS * SAMPLE_RATE)], sampling_rate=SAMPLE_RATE, return_tensors="pt"
        )
        try:
            with torch.inference_mode():
                logits = self.model(
                    input_features=feats.input_features.to(self.model.device, self.model.dtype),
                    decoder_input_ids=torch.tensor([[sot]], device=self.model.device),
                ).logits[0, -1]
        except Exception as e:  # model without language tokens
            log.debug("language detection failed: %s", e)
            return None
        codes = list(lang_ids)
        probs = torch.softmax(logits[[lang_ids[c] for c in codes]].float(), dim=-1)
        i = int(torch.argmax(probs))
        return codes[i].strip("<|>"), float(probs[i])


def make_backend(opts: AsrOptions) -> AsrBackend:
    """Build (load) the backend ``opts.backend`` names; reuse it across files."""
    if opts.backend == "faster-whisper":
        return FasterWhisperBackend(opts)
    return TransformersBackend(opts)
