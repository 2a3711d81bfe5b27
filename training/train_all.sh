#!/usr/bin/env bash
# Trains the shapes-world model (or resumes where it stopped): VAE, then the latents of rendered clips
# (1, 17 and 33 frames; a quarter of the longer ones change part-way), then the DiT with its text
# encoder. Each stage exports into models/. Uses a CUDA GPU when torch has one.
#   VAE_MINUTES=45 CLIPS=3000 DIT_MINUTES=45 bash training/train_all.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
py="${PYTHON:-../.host/venv/bin/python}"
"$py" train_vae.py --minutes "${VAE_MINUTES:-45}"
clips="${CLIPS:-3000}"
"$py" encode_latents.py --frames 1 --clips "$clips"
"$py" encode_latents.py --frames 17 --clips "$clips" --change-prob 0.25
"$py" encode_latents.py --frames 33 --clips "$((clips / 2))" --change-prob 0.25
"$py" train_dit.py --minutes "${DIT_MINUTES:-45}"
