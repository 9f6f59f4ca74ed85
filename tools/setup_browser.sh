#!/usr/bin/env bash
# Make sure a Chromium that Playwright (pip package) can drive is installed.
# Idempotent: does nothing when /usr/bin/chromium exists. `playwright install` cannot
# download browsers without network access, so Debian's chromium package is used instead
# (tests/test_book_browser.py launches it with executable_path=/usr/bin/chromium;
# set LRN_CHROMIUM to use another binary).
set -euo pipefail
CHROMIUM="${LRN_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    echo "[setup_browser] found $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null || { echo "[setup_browser] need root (or sudo) to apt-get install chromium" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "[setup_browser] installed $(/usr/bin/chromium --version)"
