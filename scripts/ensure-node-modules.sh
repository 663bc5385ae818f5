#!/usr/bin/env bash
# Installs the npm packages from package-lock.json when they are missing or older than the lock
# file, so `npm start` and `npm test` work on a fresh clone without a separate `npm ci`.
# ONNX Runtime's CPU binaries ship inside its package; its CUDA download is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "installing npm packages (npm ci)..."
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi
