#!/usr/bin/env bash
# Installs what the tests need beyond npm packages, and does nothing when it is all
# there (npm runs it before `npm test`; .ci/run too):
#  - Debian packages: independent references (numpy, scipy, onnx.checker, torchaudio),
#    Chromium for the browser tests, the TTS voices and sox for the sample generator,
#    and the headers code-server's native modules build against;
#  - code-server for the real-VS-Code tests, cached outside the clone
#    (scripts/install-code-server.sh, about 7 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(python3-numpy python3-scipy python3-onnx python3-torch python3-torchaudio chromium espeak-ng sox
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts libkrb5-dev pkg-config)
need=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian packages for the tests: ${need[*]}"
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "The tests need these Debian packages: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

bash scripts/install-code-server.sh >/dev/null
