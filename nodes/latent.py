"""Latent nodes: an empty video latent in Wan 2.1's raw latent layout."""
import torch
from comfy_api.latest import io

from ..engine.video_shape import latent_shape, video_problems
from . import host
from .validation import checked

MAX_SIZE = 8192
MAX_LENGTH = 1025


def size_problems(width: int, height: int, length: int) -> list[str]:
    problems = video_problems(width, height, length)
    for name, value, largest in (("width", width, MAX_SIZE), ("height", height, MAX_SIZE), ("length", length, MAX_LENGTH)):
        if value > largest:
            problems.append(f"{name} {value} is larger than the maximum {largest}")
    return problems


class EmptyVideoLatent(io.ComfyNode):
    """Zeros of shape [B, 16, 1 + (F-1)/4, H/8, W/8]: the starting latent for text-to-video."""

    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeEmptyVideoLatent",
            display_name="Empty Video Latent (Spacetime)",
            category="Spacetime",
            description="An empty Wan 2.1 video latent. Width and height must be multiples of 16; "
            "length (frames) must be 1 + 4k, e.g. 33 or 81.",
            inputs=[
                io.Int.Input("width", default=832, min=16, max=MAX_SIZE, step=16,
                             tooltip="Video width in pixels, a multiple of 16 (832 for Wan 2.1 480p)."),
                io.Int.Input("height", default=480, min=16, max=MAX_SIZE, step=16,
                             tooltip="Video height in pixels, a multiple of 16 (480 for Wan 2.1 480p)."),
                io.Int.Input("length", default=33, min=1, max=MAX_LENGTH, step=4,
                             tooltip="Frames; 1 + 4k (1, 5, …, 33, …, 81)."),
                io.Int.Input("batch_size", default=1, min=1, max=64,
                             tooltip="Videos sampled together from the same prompts."),
            ],
            outputs=[io.Latent.Output(tooltip="An empty (zero) video latent of that size and length, for the Sampler.")],
        )

    @classmethod
    def validate_inputs(cls, width, height, length):
        # Taking these inputs here replaces the host's own range checks for them, so we check all.
        # Linked inputs arrive as None; execute checks them again once their values are known.
        if None in (width, height, length):
            return True
        return checked(*size_problems(width, height, length))

    @classmethod
    def execute(cls, width, height, length, batch_size) -> io.NodeOutput:
        problems = size_problems(width, height, length)
        if problems:
            raise ValueError("; ".join(problems))
        shape = latent_shape(batch_size, width, height, length)
        samples = torch.zeros(shape, device=host.intermediate_device())
        return io.NodeOutput({"samples": samples})


NODES = [EmptyVideoLatent]
