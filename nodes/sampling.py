"""The sampler node: LATENT in, LATENT out, in Wan 2.1's raw latent format."""
import torch
from comfy_api.latest import io

from ..engine.frame_mask import keep_from_mask
from ..engine.generation import SamplerSettings, generate_latent
from ..engine.preview import latent_preview
from ..engine.sampling import SOLVERS
from ..engine.sampling.plan import HOLD_MODES
from . import host
from .types import DiT
from .validation import checked, choice_problem

SAMPLERS = list(SOLVERS)
HOLDS = ["auto", *HOLD_MODES]
PREVIEW_SIZE = 512


def conditioning_embedding(conditioning, name: str, text_dim: int, batch: int) -> torch.Tensor:
    """The text embedding [1 or B, L, D] inside a CONDITIONING, checked against the model."""
    if not conditioning:
        raise ValueError(f"the {name} conditioning is empty: connect a text encode node")
    if len(conditioning) > 1:
        raise ValueError(f"the {name} conditioning holds {len(conditioning)} entries (from Conditioning Combine?); "
                         "this sampler takes one: use Conditioning Concat to join prompts instead")
    embedding = conditioning[0][0]
    if embedding.ndim != 3 or embedding.shape[-1] != text_dim:
        raise ValueError(f"the {name} conditioning has shape {tuple(embedding.shape)}, but this model expects "
                         f"text embeddings [1, tokens, {text_dim}] from a umT5 text encoder")
    if embedding.shape[0] not in (1, batch):
        raise ValueError(f"the {name} conditioning holds {embedding.shape[0]} prompts but the latent batch is "
                         f"{batch}: give one prompt, or one per latent in the batch")
    return embedding


def checked_latent(latent: dict, in_channels: int) -> torch.Tensor:
    samples = latent["samples"]
    if samples.ndim != 5:
        raise ValueError(f"the latent has shape {tuple(samples.shape)}, not a video latent [B, C, T, H, W]: "
                         "use a video latent node (e.g. Empty Video Latent)")
    if samples.shape[1] != in_channels:
        raise ValueError(f"the latent has {samples.shape[1]} channels but the DiT takes {in_channels}: the VAE "
                         "that made it does not belong to this model (Wan 2.1 uses 16 latent channels)")
    return samples


def preview_image(x0: torch.Tensor):
    from PIL import Image

    return "JPEG", Image.fromarray(latent_preview(x0[:1].float().cpu()).numpy()), PREVIEW_SIZE


def hold_mode(hold: str, model, keep) -> str:
    """auto: per-frame timesteps for models trained for them, unless the mask blends frames (only the
    noise mask can hold a frame part-way)."""
    if hold != "auto":
        return hold
    whole_frames = keep is None or bool(((keep == 0) | (keep == 1)).all())
    return "timestep" if model.per_frame_timesteps and whole_frames else "noise_mask"


class Sampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeSampler",
            display_name="Sampler (Spacetime)",
            category="Spacetime",
            description="Samples a Wan 2.1 video latent with flow Euler or flow UniPC. Same seed, steps, cfg "
            "and shift give the same result as core's KSampler (simple scheduler).",
            inputs=[
                DiT.Input("dit"),
                io.Conditioning.Input("positive"),
                io.Conditioning.Input("negative"),
                io.Latent.Input("latent"),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True),
                io.Int.Input("steps", default=30, min=1, max=1000),
                io.Float.Input("cfg", default=6.0, min=0.0, max=100.0, step=0.1, round=0.01),
                io.Float.Input("shift", default=8.0, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Shifts the noise schedule toward high noise; 8 as in core, 5 in Wan's CLI."),
                io.Combo.Input("sampler", options=SAMPLERS, default="uni_pc"),
                io.Float.Input("denoise", default=1.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Strength: 1 generates from noise, less keeps more of the input latent."),
                io.Mask.Input("frame_mask", optional=True,
                              tooltip="Per frame, 1 = generate and 0 = keep the input latent's frame "
                              "(one value per latent or video frame)."),
                io.Combo.Input("hold", options=HOLDS, default="auto", optional=True,
                               tooltip="How kept frames are held: noise_mask re-noises them every step (core's "
                               "way, for any model); timestep shows them clean at timestep 0 (only for models "
                               "trained for it); auto picks timestep for such models."),
            ],
            outputs=[io.Latent.Output()],
        )

    @classmethod
    def validate_inputs(cls, sampler, hold="auto"):
        return checked(choice_problem("sampler", sampler, SAMPLERS), choice_problem("hold", hold, HOLDS))

    @classmethod
    def execute(cls, dit, positive, negative, latent, seed, steps, cfg, shift, sampler, denoise,
                frame_mask=None, hold="auto") -> io.NodeOutput:
        config = dit.module.config
        samples = checked_latent(latent, config.in_dim)
        mask = frame_mask if frame_mask is not None else latent.get("noise_mask")
        keep = None if mask is None else keep_from_mask(mask, samples.shape[2])
        settings = SamplerSettings(seed, steps, cfg, shift, sampler, denoise)
        batch = samples.shape[0]
        positive = conditioning_embedding(positive, "positive", config.text_dim, batch)
        negative = conditioning_embedding(negative, "negative", config.text_dim, batch)
        model = dit.load()
        with torch.no_grad():
            out = generate_latent(model, samples, positive, negative, settings, keep=keep,
                                  callback=host.step_reporter(steps, preview_image), device=dit.device,
                                  batch_index=latent.get("batch_index"), hold_by=hold_mode(hold, model, keep))
        return io.NodeOutput({**latent, "samples": out.to(host.intermediate_device())})


NODES = [Sampler]
