#!/usr/bin/env bash
# System packages the project needs on a fresh Debian machine:
#   ffmpeg     decoding of mp3/m4a/opus and other compressed audio (via subprocess)
#   espeak-ng  synthesised French test audio (asr.synth)
#   sox        audio conversions used by the synthesiser (telephone band-limiting)
#   libsndfile1 soundfile's native library (wheels bundle it; kept for completeness)
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
