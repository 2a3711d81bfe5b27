"""The pack's own socket types: our pure-torch models travel between our nodes under these names.

Core types (LATENT, IMAGE, VIDEO, MASK, CONDITIONING) are used everywhere else, so our nodes mix
with core nodes; models are our own classes (not core's ModelPatcher-wrapped BaseModel), hence these.
"""
from comfy_api.latest import io

DiT = io.Custom("SPACETIME_DIT")
TextEncoder = io.Custom("SPACETIME_TEXT_ENCODER")
VAE = io.Custom("SPACETIME_VAE")
Edit = io.Custom("SPACETIME_EDIT")  # an edit's given frames and layout, from an edit node to Finish Edit
Storyboard = io.Custom("SPACETIME_STORYBOARD")  # cards on a timeline (engine/editing/storyboard.py)
