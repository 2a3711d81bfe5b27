"""Sora's temporal edits as nodes: Re-cut (extend), image to video, Loop and Blend, plus Finish Edit.

Each edit node prepares what a sampler needs, a LATENT with the known frames placed and a core
noise_mask over what to generate, and an EDIT that Finish Edit uses after decoding to splice the given
frames back pixel-identical and anchor the generated ones' colour to them. So our sampler, or core's
KSampler with a core Wan MODEL, can sample any of them.
"""
import torch
from comfy_api.latest import io

from ..engine.editing import (BLEND_MODES, DIRECTIONS, blend_mix, blend_transition, curve_weights, extend, finish,
                              image_to_video, loop, mask_weights, match_size)
from ..engine.memory import check_edit
from ..engine.video.audio import crossfaded, frames_audio
from . import host
from .frames_input import audio_input, clip_audio, clip_frames, clip_inputs, frames_to_add
from .prepare import edit_outputs, prepared
from .types import VAE, Edit
from .validation import checked, choice_problem

UNITS = ["frames", "seconds"]
FITS = ["error", "resize"]
CONTEXT_TOOLTIP = ("Most given frames the model sees beside the new ones, in whole latent frames (before new frames: 1, "
                   "4, 5, 8, 9 …; after them: 4, 8 …). 'both' shows the whole kept range. A multiple of 4 new frames "
                   "lets the model hold the given frames on both sides of a bridge.")


def check_fits(output_frames: int, like: torch.Tensor) -> None:
    """Refuse an edit whose clip (frames the size of `like`'s) would not fit in host memory."""
    check_edit(output_frames, like.shape[1], like.shape[2], host.free_memory(torch.device("cpu")))


class Extend(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeExtend",
            display_name="Re-cut / Extend (Spacetime)",
            category="Spacetime/Edit",
            description="Keeps a range of a clip and prepares new frames after it, before it, or both. Sample the "
            "latent, decode it, then Finish Edit: the kept frames come back pixel-identical.",
            inputs=[
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE; encodes the given frames."),
                *clip_inputs(),
                io.Int.Input("keep_start", default=0, min=0, max=100000, tooltip="First frame to keep (0 = first)."),
                io.Int.Input("keep_end", default=-1, min=-1, max=100000, tooltip="Last frame to keep; -1 = the last."),
                io.Combo.Input("direction", options=list(DIRECTIONS), default="forward",
                               tooltip="Where the new frames go; 'both' splits them, the earlier side the smaller half."),
                io.Float.Input("add", default=12.0, min=0.0, max=10000.0, step=1.0,
                               tooltip="How much new video to add, in 'unit' (e.g. 12 frames or 2 seconds)."),
                io.Combo.Input("unit", options=UNITS, default="frames", tooltip="What 'add' counts: frames or seconds."),
                io.Float.Input("fps", default=16.0, min=1.0, max=120.0, step=1.0,
                               tooltip="Frame rate for 'seconds' with IMAGE frames (a VIDEO has its own)."),
                io.Int.Input("context_frames", default=5, min=1, max=1025, tooltip=CONTEXT_TOOLTIP),
                audio_input(),
            ],
            outputs=edit_outputs(),
        )

    @classmethod
    def validate_inputs(cls, direction, unit):
        return checked(choice_problem("direction", direction, DIRECTIONS), choice_problem("unit", unit, UNITS))

    @classmethod
    def execute(cls, vae, keep_start, keep_end, direction, add, unit, fps, context_frames, images=None,
                video=None, audio=None) -> io.NodeOutput:
        frames, video_fps = clip_frames(images, video)
        count = frames_to_add(add, unit, video_fps or fps)
        check_fits(len(frames) + count, frames)
        timeline = extend(frames, keep_start, keep_end, direction, count, context_frames)
        sound = clip_audio(audio, video)
        return prepared(vae, timeline, lambda t: frames_audio([(sound, len(frames))], t.sources, video_fps or fps))


class ImageToVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeImageToVideo",
            display_name="Image to Video (Spacetime)",
            category="Spacetime/Edit",
            description="Prepares a clip that starts on exactly this image (the first, if a batch is given), for a "
            "text-to-video model. Sample, decode, then Finish Edit. The latent begins with 4 still frames of the "
            "image (one latent frame more than the clip needs), which Finish Edit drops: new frames that follow "
            "them meet the image without a step.",
            inputs=[
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE; encodes the given frames."),
                io.Image.Input("image", tooltip="The first frame of the clip (the first image of a batch)."),
                io.Int.Input("length", default=33, min=2, max=1025, tooltip="Frames in the clip, the image included."),
            ],
            outputs=edit_outputs(),
        )

    @classmethod
    def execute(cls, vae, image, length) -> io.NodeOutput:
        frames, _ = clip_frames(image, None, "image")
        check_fits(length, frames)
        timeline = image_to_video(frames[0], length)
        return prepared(vae, timeline)


class Loop(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeLoop",
            display_name="Loop (Spacetime)",
            category="Spacetime/Edit",
            description="Turns a clip into a seamless loop: prepares a bridge from its end back to its start. For a "
            "new loop from a prompt, feed it a text-to-video clip. Sample, decode, then Finish Edit.",
            inputs=[
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE; encodes the given frames."),
                *clip_inputs(),
                io.Int.Input("bridge_frames", default=12, min=1, max=1025,
                             tooltip="New frames between the clip's end and its start; the loop is the clip's "
                             "length plus these."),
                io.Int.Input("change_frames", default=0, min=0, max=1025,
                             tooltip="Frames at each end of the clip the loop may re-make (0 keeps every frame)."),
                io.Int.Input("context_frames", default=5, min=1, max=1025, tooltip=CONTEXT_TOOLTIP),
                audio_input(),
                io.Float.Input("fps", default=16.0, min=1.0, max=120.0, step=1.0, optional=True,
                               tooltip="Frame rate of IMAGE frames, to time their sound (a VIDEO has its own)."),
            ],
            outputs=edit_outputs(),
        )

    @classmethod
    def execute(cls, vae, bridge_frames, change_frames, context_frames, images=None, video=None, audio=None,
                fps=16.0) -> io.NodeOutput:
        frames, video_fps = clip_frames(images, video)
        check_fits(len(frames) + bridge_frames, frames)
        timeline = loop(frames, bridge_frames, change_frames, context_frames)
        sound = clip_audio(audio, video)
        return prepared(vae, timeline, lambda t: frames_audio([(sound, len(frames))], t.sources, video_fps or fps))


class Blend(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeBlend",
            display_name="Blend (Spacetime)",
            category="Spacetime/Edit",
            description="Two clips into one. transition: A, generated frames flowing from A's end into B's start, "
            "then B. mix: each frame B's share of the way from A to B by the curve, as long as the shorter clip "
            "(sample at denoise below 1 to keep more of both). Sample, decode, then Finish Edit.",
            inputs=[
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE; encodes the given frames."),
                io.Image.Input("clip_a", tooltip="The first clip, as IMAGE frames."),
                io.Image.Input("clip_b", tooltip="The second clip, as IMAGE frames."),
                io.Combo.Input("mode", options=list(BLEND_MODES), default="transition",
                               tooltip="transition: A, then new frames into B, then B; mix: A turning into B "
                               "frame by frame along the curve."),
                io.Int.Input("transition_frames", default=12, min=1, max=1025, tooltip="transition: new frames between."),
                io.String.Input("curve", default="0:0, 0.3:0, 0.7:1, 1:1",
                                tooltip="mix: B's share over time, 'time:share' pairs with both from 0 to 1."),
                io.Combo.Input("fit", options=FITS, default="error",
                               tooltip="When B's size differs from A's: stop with a message, or resize B to A's size."),
                io.Int.Input("context_frames", default=5, min=1, max=1025, tooltip=CONTEXT_TOOLTIP),
                io.Mask.Input("curve_mask", optional=True,
                              tooltip="mix: B's share per frame as a MASK (its mean per frame), instead of the curve."),
                audio_input("audio_a", "clip A", ""),
                audio_input("audio_b", "clip B", ""),
                io.Float.Input("fps", default=16.0, min=1.0, max=120.0, step=1.0, optional=True,
                               tooltip="Frame rate of IMAGE frames, to time their sound ."),
            ],
            outputs=edit_outputs(),
        )

    @classmethod
    def validate_inputs(cls, mode, fit):
        return checked(choice_problem("mode", mode, BLEND_MODES), choice_problem("fit", fit, FITS))

    @classmethod
    def execute(cls, vae, clip_a, clip_b, mode, transition_frames, curve, fit, context_frames,
                curve_mask=None, audio_a=None, audio_b=None, fps=16.0) -> io.NodeOutput:
        a, _ = clip_frames(clip_a, None, "clip A")
        b = match_size(clip_b.float().cpu(), a, resize=fit == "resize")
        b, _ = clip_frames(b, None, "clip B")
        if mode == "transition":
            check_fits(len(a) + len(b) + transition_frames, a)
            timeline = blend_transition(a, b, transition_frames, context_frames)
            clips = [(audio_a, len(a)), (audio_b, len(b))]
            return prepared(vae, timeline, lambda t: frames_audio(clips, t.sources, fps))
        frames = min(len(a), len(b))
        check_fits(frames, a)
        share = curve_weights(curve, frames) if curve_mask is None else mask_weights(curve_mask, frames)
        return prepared(vae, lambda encode: blend_mix(a, b, share, encode),  # it encodes both clips itself
                        lambda _: crossfaded(audio_a, audio_b, share, fps))


class FinishEdit(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeFinishEdit",
            display_name="Finish Edit (Spacetime)",
            category="Spacetime/Edit",
            description="The finished clip from an edit and its decoded frames: given frames spliced back "
            "pixel-identical, generated frames colour-matched to them, padding dropped.",
            inputs=[
                Edit.Input("edit", tooltip="The EDIT output of the node that prepared this latent."),
                io.Image.Input("images", tooltip="The decoded latent of this edit (ours or core's VAE Decode)."),
            ],
            outputs=[io.Image.Output(tooltip="The finished clip as IMAGE frames, for Save Video."),
                     io.Audio.Output(display_name="audio",
                                     tooltip="The finished clip's sound (the given frames' own, silence under new "
                                     "frames), for Save Video's audio; empty when the edit's clips had none.")],
        )

    @classmethod
    def execute(cls, edit, images) -> io.NodeOutput:
        return io.NodeOutput(finish(edit, images), edit.audio)


NODES = [Extend, ImageToVideo, Loop, Blend, FinishEdit]
