"""The outputs every edit-preparing node gives (not a node file): a Timeline compiled with the VAE into a
LATENT (known frames placed, a core noise_mask over what to generate) and the EDIT Finish Edit needs."""
from dataclasses import replace

import torch
from comfy_api.latest import io

from ..engine.editing import Timeline, compile_timeline
from ..engine.frames import encode_images
from .types import Edit


def prepared(vae, edit, sound=None) -> io.NodeOutput:
    """The LATENT and EDIT outputs of a Timeline compiled with the VAE as its encoder (or of
    `edit(encode)`, for an edit that builds its own). `sound(timeline)` gives the output's AUDIO (or None),
    which the EDIT carries to Finish Edit."""
    model = vae.load()

    def encode(frames):
        with torch.no_grad():
            return encode_images(model, frames.to(vae.device))

    timeline = edit
    edit = compile_timeline(edit, encode) if isinstance(edit, Timeline) else edit(encode)
    if sound is not None:
        edit = replace(edit, audio=sound(timeline))
    return io.NodeOutput({"samples": edit.latent, "noise_mask": edit.noise_mask}, edit)


def edit_outputs():
    return [io.Latent.Output(display_name="latent",
                             tooltip="The latent to sample: given frames placed, a noise mask over the new ones."),
            Edit.Output(display_name="edit", tooltip="What Finish Edit needs to splice the given frames back.")]
