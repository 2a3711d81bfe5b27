#!/usr/bin/env bash
# Trains the shapes-world model (or resumes where it stopped): VAE, then the latents of rendered clips,
# then the DiT with its text encoder. Each stage exports into models/. Uses a CUDA GPU when torch has one.
#   VAE_MINUTES=45 CLIPS=8000 DIT_MINUTES=45 bash training/train_all.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
py="${PYTHON:-../.host/venv/bin/python}"
"$py" train_vae.py --minutes "${VAE_MINUTES:-45}"
"$py" encode_latents.py --clips "${CLIPS:-8000}"
"$py" train_dit.py --minutes "${DIT_MINUTES:-45}"
