"""Text encode: prompt and negative prompt → CONDITIONING in the structure core's CLIPTextEncode gives."""
import torch
from comfy_api.latest import io

from ..engine.models.text_encoder import encode_text
from .types import TextEncoder


def as_conditioning(embedding: torch.Tensor) -> list:
    """Core's CONDITIONING: a list of [tensor [1, L, D], options]; umT5 has no pooled output."""
    return [[embedding, {"pooled_output": None}]]


class TextEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeTextEncode",
            display_name="Text Encode (Spacetime)",
            category="Spacetime",
            description="Encodes a prompt and a negative prompt with umT5. The CONDITIONING works with core "
            "conditioning nodes and core samplers for Wan, and core's works with ours.",
            inputs=[
                TextEncoder.Input("text_encoder", tooltip="The umT5 encoder, from Load umT5 Text Encoder."),
                io.String.Input("prompt", multiline=True, dynamic_prompts=True,
                                tooltip="What the video shows: subject, action, setting, camera, style; "
                                "a sentence or two (up to 512 tokens)."),
                io.String.Input("negative_prompt", multiline=True, dynamic_prompts=True, default="",
                                tooltip="What to avoid (e.g. blurry, static, distorted); used when the sampler's "
                                "cfg > 1. May be empty."),
            ],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="The prompt's conditioning, for the sampler's positive."),
                     io.Conditioning.Output(display_name="negative",
                                            tooltip="The negative prompt's conditioning, for the sampler's negative.")],
        )

    @classmethod
    def execute(cls, text_encoder, prompt, negative_prompt) -> io.NodeOutput:
        encoder = text_encoder.encoder.load()
        with torch.no_grad():
            embeddings = encode_text(encoder, text_encoder.tokenizer, [prompt, negative_prompt]).cpu()
        return io.NodeOutput(as_conditioning(embeddings[:1]), as_conditioning(embeddings[1:]))


NODES = [TextEncode]
