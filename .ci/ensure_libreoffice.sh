#!/usr/bin/env bash
# Installs LibreOffice Calc (headless) and poppler's PDF tools from Debian when missing: the
# workbook tests recalculate and print with LibreOffice, and render the printed page to PNG
# (pdftoppm) and read its text (pdftotext).
set -euo pipefail
packages=()
if ! command -v soffice >/dev/null 2>&1 && ! command -v libreoffice >/dev/null 2>&1; then
  packages+=(libreoffice-calc-nogui)
fi
if ! command -v pdftoppm >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
  packages+=(poppler-utils)
fi
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
