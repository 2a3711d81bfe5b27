"""The samplers: LATENT in, LATENT out, in Wan 2.1's raw latent format. The Sampler (text to video, a
storyboard, kept frames, long clips in windows) and Remix (a video re-imagined by a new prompt)."""
import logging

import torch
from comfy_api.latest import io

from ..engine.editing import REMIX_METHODS, STRENGTHS, remix_plan, remix_strength, storyboard_prompts
from ..engine.editing.remix import CUSTOM
from ..engine.frame_mask import keep_from_mask
from ..engine.generation import SamplerSettings, passes, run_plan
from ..engine.memory import DiTShape, check_sampling, sampling_bytes
from ..engine.models.fp8_linear import compute_dtype
from ..engine.parallel.workers import run_on_workers
from ..engine.preview import (latent_preview, load_preview_maps, map_entry_from_model_space, preview_map_for,
                              preview_size)
from ..engine.sampling import SOLVERS, SamplingPlan
from ..engine.sampling.plan import HOLD_MODES, WINDOW_MODES
from ..engine.sampling.step_cache import LEVELS, LEVELS_HELP, StepCache
from ..engine.video_shape import TIME_STRIDE, frame_count, latent_frames, length_problem
from . import host
from .conditioning import checked_latent, conditioning_embedding, check_storyboard
from .types import DiT, Storyboard
from .validation import checked, choice_problem, range_problem

SAMPLERS = list(SOLVERS)
HOLDS = ["auto", *HOLD_MODES]
REMIX_STRENGTHS = [*STRENGTHS, CUSTOM]
CACHE_LEVELS = ["off", *LEVELS]
LOG = logging.getLogger("spacetime.step_cache")


def previewer(latent_format):
    """The progress preview of a model's predicted clean latent: its middle frame in the colours of the
    model's fitted map, or of the host core's map for Wan 2.1 (false colour without one), at the clip's
    aspect and pixel size (at most 512 px)."""
    core = host.core_wan21_preview()
    maps = load_preview_maps() + ([map_entry_from_model_space("Wan 2.1 (ComfyUI core)", **core)] if core else [])
    preview_map = preview_map_for(latent_format, maps)

    def preview_image(x0: torch.Tensor):
        from PIL import Image

        frame = latent_preview(latent_format.denormalize(x0[:1].float().cpu()), preview_map)
        size = preview_size(*frame.shape[:2])
        return "JPEG", Image.fromarray(frame.numpy()).resize(size, Image.Resampling.BILINEAR), max(size)

    return preview_image


def hold_mode(hold: str, model, keep) -> str:
    """auto: per-frame timesteps for models trained for them, unless the mask blends frames (only the
    noise mask can hold a frame part-way)."""
    if hold != "auto":
        return hold
    whole_frames = keep is None or bool(((keep == 0) | (keep == 1)).all())
    return "timestep" if model.per_frame_timesteps and whole_frames else "noise_mask"


def window_problems(window_frames: int, window_overlap: int) -> str | None:
    """Why the window inputs cannot be used (0 frames = no windows), or None."""
    if window_frames == 0:
        return None
    if length_problem(window_frames):
        return "window_frames: " + length_problem(window_frames).replace("length", "a window of", 1)
    # Each window must make at least one latent frame of its own: overlap ≤ window_frames − 1 (both 1 + 4k).
    if window_overlap % TIME_STRIDE or not 0 <= window_overlap < window_frames:
        return (f"window_overlap {window_overlap} must be a multiple of {TIME_STRIDE} (whole latent frames) and "
                f"less than window_frames ({window_frames})")
    return None


def common_inputs() -> list:
    """The inputs every sampler here shares, in this order (the node contract pins them)."""
    return [
        DiT.Input("dit", tooltip="The video model, from Load DiT."),
        io.Conditioning.Input("positive", tooltip="What the video shows: Text Encode's positive."),
        io.Conditioning.Input("negative", tooltip="What to steer away from: Text Encode's negative "
                              "(used when cfg > 1)."),
        io.Latent.Input("latent", tooltip="The video latent to sample: Empty Video Latent, or a prepared/encoded "
                        "one for edits; its size and length set the clip's."),
        io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                     tooltip="Noise seed; the same seed and settings give the same video."),
        io.Int.Input("steps", default=30, min=1, max=1000,
                     tooltip="Denoising steps; more is slower and finer (20-50; 30 for Wan 2.1)."),
        io.Float.Input("cfg", default=6.0, min=0.0, max=100.0, step=0.1, round=0.01,
                       tooltip="Classifier-free guidance: how strongly to follow the prompt over the negative "
                       "(5-6 for Wan 2.1; 1 skips the negative and runs twice as fast)."),
        io.Float.Input("shift", default=8.0, min=0.01, max=100.0, step=0.1, round=0.01,
                       tooltip="Shifts the noise schedule toward high noise; 8 as in core, 5 in Wan's CLI."),
        io.Combo.Input("sampler", options=SAMPLERS, default="uni_pc",
                       tooltip="Flow solver: uni_pc (default, good in few steps), uni_pc_bh2, or euler "
                       "(simplest, needs more steps)."),
    ]


def load_for(dit, plan: SamplingPlan):
    """Load the DiT with room for sampling the plan (ComfyUI unloads other models for it); refuse with what
    would fit when even then the device is too small."""
    module = dit.module
    frames = min(plan.window or plan.frames, plan.frames)  # windows are sampled one after another
    shape = (*plan.latent.shape[:2], frames, *plan.latent.shape[3:])
    dims, dtype = DiTShape(module.config.dim, module.config.ffn_dim), compute_dtype(module.blocks[0].ffn[0])
    model = dit.load(sampling_bytes(shape, dims, dtype, module.attention_backend))
    check_sampling(shape, dims, dtype, module.attention_backend, host.free_memory(dit.device))
    return model


def sample_plan(dit, latent: dict, plan_for, seed, steps, cfg, shift, sampler, cache="off") -> io.NodeOutput:
    """Build the plan with `plan_for(model)`, load the model, run it with a progress bar and previews (on the
    worker processes of Parallel Devices when the DiT carries them)."""
    plan = plan_for(dit.module)
    settings = SamplerSettings(seed, steps, cfg, shift, sampler)
    report = host.step_reporter(steps * passes(plan), previewer(dit.module.latent_format))
    workers = getattr(dit, "workers", None)
    if workers is not None:
        if cache != "off":
            LOG.warning("Step cache: not applied on Parallel Devices' workers; every step is evaluated")
        out = run_on_workers(workers, plan, settings, report, poll=host.check_interrupt,
                             batch_index=latent.get("batch_index"))
    else:
        model = load_for(dit, plan)
        step_cache = None if cache == "off" else StepCache(LEVELS[cache])
        with torch.no_grad():
            out = run_plan(model, plan, settings, callback=report, device=dit.device,
                           batch_index=latent.get("batch_index"), cache=step_cache)
        if step_cache is not None:
            made = step_cache.evaluations
            LOG.info("Step cache (%s): %d of %d DiT evaluations made", cache, made, made + step_cache.skipped)
    return io.NodeOutput({**latent, "samples": out.to(host.intermediate_device())})


class Sampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeSampler",
            display_name="Sampler (Spacetime)",
            category="Spacetime",
            description="Samples a Wan 2.1 video latent with flow Euler or flow UniPC. Same seed, steps, cfg "
            "and shift give the same result as core's KSampler (simple scheduler). With a storyboard each "
            "moment follows its card; with windows a long clip is sampled in overlapping, fused windows.",
            inputs=[
                *common_inputs(),
                io.Float.Input("denoise", default=1.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Strength: 1 generates from noise, less keeps more of the input latent."),
                io.Mask.Input("frame_mask", optional=True,
                              tooltip="Per frame, 1 = generate and 0 = keep the input latent's frame "
                              "(one value per latent or video frame)."),
                io.Combo.Input("hold", options=HOLDS, default="auto", optional=True,
                               tooltip="How kept frames are held: noise_mask re-noises them every step (core's "
                               "way, for any model); timestep shows them clean at timestep 0 (only for models "
                               "trained for it); auto picks timestep for such models."),
                Storyboard.Input("storyboard", optional=True,
                                 tooltip="Prompts on a timeline: each latent frame follows the card of its moment; "
                                 "before the first card, the positive prompt."),
                io.Int.Input("window_frames", default=0, min=0, max=100001, optional=True,
                             tooltip="Sample in overlapping windows of this many frames (1 + 4k, e.g. 81 for Wan "
                             "2.1, 17 for the shapes model), fused at every step; 0 = the whole clip at once."),
                io.Int.Input("window_overlap", default=8, min=0, max=100000, step=TIME_STRIDE, optional=True,
                             tooltip="Frames neighbouring windows share (a multiple of 4)."),
                io.Combo.Input("window_mode", options=list(WINDOW_MODES), default="chained", optional=True,
                               tooltip="chained: windows one after another, each continuing the frames it shares "
                               "with the one before (keeps the object as it is); fused: every window at every "
                               "step, averaged where they overlap (core's context windows)."),
                io.Combo.Input("cache", options=CACHE_LEVELS, default="off", optional=True,
                               tooltip="Skip DiT evaluations the earlier steps predict: " + LEVELS_HELP
                               + " off (default) gives core KSampler's result exactly."),
            ],
            outputs=[io.Latent.Output(tooltip="The sampled video latent; decode it with Decode.")],
        )

    @classmethod
    def validate_inputs(cls, sampler, denoise=1.0, hold="auto", window_frames=0, window_overlap=8,
                        window_mode="chained", cache="off"):
        return checked(choice_problem("sampler", sampler, SAMPLERS), range_problem("denoise", denoise, 0, 1),
                       choice_problem("hold", hold, HOLDS),
                       window_problems(window_frames, window_overlap),
                       choice_problem("window_mode", window_mode, WINDOW_MODES),
                       choice_problem("cache", cache, CACHE_LEVELS))

    @classmethod
    def execute(cls, dit, positive, negative, latent, seed, steps, cfg, shift, sampler, denoise,
                frame_mask=None, hold="auto", storyboard=None, window_frames=0, window_overlap=8,
                window_mode="chained", cache="off") -> io.NodeOutput:
        config = dit.module.config
        samples = checked_latent(latent, config.in_dim)
        if frame_mask is not None:
            keep = keep_from_mask(frame_mask, samples.shape[2], "the frame_mask")
        elif latent.get("noise_mask") is not None:
            keep = keep_from_mask(latent["noise_mask"], samples.shape[2], "the latent's noise_mask")
        else:
            keep = None
        batch, frames = samples.shape[0], samples.shape[2]
        positive = conditioning_embedding(positive, "positive", config.text_dim, batch)
        negative = conditioning_embedding(negative, "negative", config.text_dim, batch)
        weights = None
        if storyboard is not None:
            if positive.shape[0] != 1:
                raise ValueError("with a storyboard the positive prompt must be a single one (it covers the time "
                                 "before the first card)")
            check_storyboard(storyboard, config.text_dim)
            positive, weights = storyboard_prompts(storyboard, positive, frames, frame_count(frames))
        windows = {}
        if window_frames:
            windows = dict(window=latent_frames(window_frames), overlap=window_overlap // TIME_STRIDE,
                           window_mode=window_mode)

        def plan_for(model):
            return SamplingPlan(samples.float(), positive, negative, frame_weights=weights, strength=denoise, keep=keep,
                                hold_by=hold_mode(hold, model, keep), **windows)

        return sample_plan(dit, latent, plan_for, seed, steps, cfg, shift, sampler, cache)


class Remix(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeRemix",
            display_name="Remix (Spacetime)",
            category="Spacetime/Edit",
            description="Re-imagines a video (its latent, e.g. from Encode) by a new prompt, keeping as much of it "
            "as the strength says. flowedit follows the difference between the new prompt and the source prompt "
            "from the video itself; renoise noises the video part-way and denoises it (core's img2img).",
            inputs=[
                *common_inputs(),
                io.Combo.Input("strength", options=REMIX_STRENGTHS, default="moderate",
                               tooltip=", ".join(f"{name} {value}" for name, value in STRENGTHS.items())
                               + "; custom uses custom_strength."),
                io.Float.Input("custom_strength", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="With strength 'custom': 0 keeps the video, 1 re-draws it entirely."),
                io.Combo.Input("method", options=list(REMIX_METHODS), default="flowedit",
                               tooltip="flowedit keeps layout and motion best; renoise noises the video "
                               "part-way and denoises it (core's img2img)."),
                io.Conditioning.Input("source_positive", optional=True,
                                      tooltip="flowedit: a prompt describing the video as it is (without one, the "
                                      "negative prompt stands in, which keeps less of it)."),
            ],
            outputs=[io.Latent.Output(tooltip="The remixed video latent; decode it with Decode.")],
        )

    @classmethod
    def validate_inputs(cls, sampler, strength, method):
        return checked(choice_problem("sampler", sampler, SAMPLERS),
                       choice_problem("strength", strength, REMIX_STRENGTHS),
                       choice_problem("method", method, REMIX_METHODS))

    @classmethod
    def execute(cls, dit, positive, negative, latent, seed, steps, cfg, shift, sampler, strength, custom_strength,
                method, source_positive=None) -> io.NodeOutput:
        config = dit.module.config
        samples = checked_latent(latent, config.in_dim)
        batch = samples.shape[0]
        positive = conditioning_embedding(positive, "positive", config.text_dim, batch)
        negative = conditioning_embedding(negative, "negative", config.text_dim, batch)
        source = None if source_positive is None else conditioning_embedding(source_positive, "source_positive",
                                                                             config.text_dim, batch)
        value = remix_strength(strength, custom_strength)
        plan = remix_plan(samples, positive, negative, value, method, source)
        return sample_plan(dit, latent, lambda model: plan, seed, steps, cfg, shift, sampler)


NODES = [Sampler, Remix]
