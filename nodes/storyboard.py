"""Storyboard nodes: cards (a time, a prompt, optionally a keyframe image) on a timeline, written as text or
chained as card nodes; both give one STORYBOARD that the Sampler's `storyboard` input takes. Storyboard
Keyframes prepares a latent that holds the keyframe images at their times (sample, decode, Finish Edit)."""
import torch
from comfy_api.latest import io

from ..engine.editing import Card, Storyboard, keyframe_timeline, parse_storyboard
from ..engine.editing.storyboard import TIME_UNITS, frame_at
from ..engine.models.text_encoder import encode_text
from ..engine.video_shape import TIME_STRIDE, video_problems
from .conditioning import conditioning_embedding
from .frames_input import clip_frames
from .prepare import edit_outputs, prepared
from .types import VAE, TextEncoder
from .types import Storyboard as StoryboardType
from .validation import checked, choice_problem

TRANSITION_TOOLTIP = "Frames over which the previous card's prompt gives way to this one's, centred on its time."


def fps_input():
    return io.Float.Input("fps", default=16.0, min=1.0, max=120.0, step=1.0,
                          tooltip="Frame rate that times in seconds refer to (Wan 2.1 makes 16 fps).")


def transition_input():
    return io.Int.Input("transition_frames", default=TIME_STRIDE, min=0, max=1000, tooltip=TRANSITION_TOOLTIP)


class StoryboardText(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeStoryboard",
            display_name="Storyboard (Spacetime)",
            category="Spacetime/Storyboard",
            description="A storyboard written as text, one card a line: 'TIME: prompt', with TIME in seconds "
            "('2s', '1.5s'), as a clock ('0:02') or in frames ('frame 32' or '32'). Lines starting with # are "
            "comments.",
            inputs=[
                TextEncoder.Input("text_encoder", tooltip="The umT5 encoder, from Load umT5 Text Encoder; encodes every card."),
                io.String.Input("text", multiline=True,
                                default="0s: a red circle moves right on a black background\n"
                                "0.5s: a blue circle moves right on a black background",
                                tooltip="One card a line, 'TIME: prompt'; TIME as '2s', '1.5s', '0:02', 'frame 32' or '32'. "
                                "# starts a comment."),
                fps_input(),
                transition_input(),
            ],
            outputs=[StoryboardType.Output(display_name="storyboard",
                                            tooltip="The cards, for the Sampler's storyboard input.")],
        )

    @classmethod
    def execute(cls, text_encoder, text, fps, transition_frames) -> io.NodeOutput:
        lines = parse_storyboard(text, fps)
        encoder = text_encoder.encoder.load()
        with torch.no_grad():
            embeddings = encode_text(encoder, text_encoder.tokenizer, [prompt for _, prompt, _ in lines]).cpu()
        story = Storyboard()
        for (frame, _, label), embedding in zip(lines, embeddings):
            story = story.add(Card(frame, embedding[None], transition_frames, label=label))
        return io.NodeOutput(story)


class StoryboardCard(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeStoryboardCard",
            display_name="Storyboard Card (Spacetime)",
            category="Spacetime/Storyboard",
            description="One card: from this time on, the video follows this prompt (and shows the image, if one "
            "is connected, at this time). Chain cards in time order through `storyboard`.",
            inputs=[
                io.Conditioning.Input("prompt", tooltip="The card's prompt (e.g. from Text Encode's positive)."),
                io.Float.Input("time", default=0.0, min=0.0, max=100000.0, step=0.1,
                               tooltip="When this card starts, in 'unit' (0 = the first frame)."),
                io.Combo.Input("unit", options=list(TIME_UNITS), default="seconds",
                               tooltip="What 'time' counts: seconds (at fps) or video frames."),
                fps_input(),
                transition_input(),
                StoryboardType.Input("storyboard", optional=True, tooltip="The cards before this one."),
                io.Image.Input("image", optional=True,
                               tooltip="A keyframe shown at this time (its first image); prepare the latent with "
                               "Storyboard Keyframes."),
            ],
            outputs=[StoryboardType.Output(display_name="storyboard",
                                            tooltip="The cards so far, this one included: chain on, or into the Sampler.")],
        )

    @classmethod
    def validate_inputs(cls, unit):
        return checked(choice_problem("unit", unit, TIME_UNITS))

    @classmethod
    def execute(cls, prompt, time, unit, fps, transition_frames, storyboard=None, image=None) -> io.NodeOutput:
        embedding = conditioning_embedding(prompt, "card's prompt", None, 1)
        frame = frame_at(time, unit, fps)
        label = f"{time:g}s" if unit == "seconds" else f"frame {frame}"
        keyframe = None if image is None else clip_frames(image, None, "keyframe image")[0][0]
        card = Card(frame, embedding.cpu(), transition_frames, image=keyframe, label=label)
        return io.NodeOutput((storyboard or Storyboard()).add(card))


class StoryboardKeyframes(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeStoryboardKeyframes",
            display_name="Storyboard Keyframes (Spacetime)",
            category="Spacetime/Storyboard",
            description="Prepares a video latent that holds each card's keyframe image at its time (over the 4 "
            "frames of its latent frame; frame 0 alone). Sample it with the storyboard, decode, then Finish Edit.",
            inputs=[
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE; encodes the keyframes."),
                StoryboardType.Input("storyboard", tooltip="The cards whose images are the keyframes."),
                io.Int.Input("width", default=832, min=16, max=8192, step=16,
                             tooltip="Video width in pixels, a multiple of 16; the keyframes must have this size."),
                io.Int.Input("height", default=480, min=16, max=8192, step=16,
                             tooltip="Video height in pixels, a multiple of 16; the keyframes must have this size."),
                io.Int.Input("length", default=81, min=1, max=100001, step=4,
                             tooltip="Frames; 1 + 4k (81 is 5 s at 16 fps)."),
            ],
            outputs=edit_outputs(),
        )

    @classmethod
    def validate_inputs(cls, width, height, length):
        return checked(*video_problems(width, height, length))

    @classmethod
    def execute(cls, vae, storyboard, width, height, length) -> io.NodeOutput:
        return prepared(vae, keyframe_timeline(storyboard, length, height, width))


NODES = [StoryboardText, StoryboardCard, StoryboardKeyframes]
