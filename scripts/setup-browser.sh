#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser test of
# `openevolve view` (crates/openevolve-cli/tests/view.rs). Safe to run again:
# it only checks, then. The test drives chromedriver over plain WebDriver
# HTTP, so nothing from npm is needed.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# A font, so the page's text renders in screenshots.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "setup-browser: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
chromium --version
chromedriver --version
