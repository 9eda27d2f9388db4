#!/usr/bin/env bash
# Installs the browser the Chromium CORS matrix (browser-tests/) drives: Debian's chromium and
# chromium-driver, from apt. Idempotent: does nothing when /usr/bin/chromium is already there.
# Never downloads a browser build of its own; the matrix only uses the system package.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "browser-deps: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
else
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y chromium chromium-driver
echo "browser-deps: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
