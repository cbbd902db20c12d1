#!/usr/bin/env bash
# System packages the project needs on a fresh Debian/Ubuntu machine (idempotent):
#   ffmpeg            decoding fallback and the openai-whisper reference in benchmarks
#   espeak-ng, sox    synthesised French test audio (asr.synth, examples/make_example.py)
#   build-essential, python3-dev   C extensions built from source: webrtcvad (resemblyzer),
#                     meeteval (cpWER)
#   python3-venv      `python3 -m venv` on Debian's own Python
#   chromium          headless browser for the app's browser test (driven by Playwright)
#   asterisk-core-sounds-fr-wav, asterisk-prompt-fr-armelle   real recorded French voices (two
#                     women, 8 kHz telephone prompts) for tests/asr/test_real_voices.py and
#                     benchmarks/bench_real_voices.py (data_cards/real_voices.md)
set -euo pipefail
PY=${PYTHON:-python3}
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
command -v chromium >/dev/null || need+=(chromium)
[ -d /usr/share/asterisk/sounds/fr_CA_f_June ] || need+=(asterisk-core-sounds-fr-wav)
[ -e /usr/share/asterisk/sounds/fr/agent-pass.gsm ] || need+=(asterisk-prompt-fr-armelle)
command -v cc >/dev/null || need+=(build-essential)
if ! "$PY" -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
  need+=(python3-dev)
fi
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then need+=(python3-venv); fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
