"""Decode a latent to frames, and save frames as a video file with the workflow and provenance inside."""
import json
import os

import torch
import comfy.utils
import folder_paths
from comfy_api.latest import InputImpl, Types, io, ui

from ..engine.frames import decode_to_images, encode_images
from ..engine.version import pack_version
from ..engine.video import frame_rate, next_free_path, provenance_record, write_video
from ..engine.video.output_files import check_inside, prefix_problem
from ..engine.video_shape import frame_count, length_problem
from . import host
from .frames_input import clip_frames, clip_inputs
from .types import VAE
from .validation import checked, choice_problem

FORMATS = ["mp4", "webm", "webp", "gif"]
MODEL_INPUTS = ("dit_name", "text_encoder_name", "vae_name")


class Decode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeDecode",
            display_name="Decode Video (Spacetime)",
            category="Spacetime",
            description="Decodes a Wan 2.1 latent into frames, one latent frame at a time (memory stays flat "
            "in clip length). Tiling bounds memory at large sizes.",
            inputs=[
                VAE.Input("vae"),
                io.Latent.Input("latent"),
                io.Int.Input("tile_size", default=0, min=0, max=4096, step=16,
                             tooltip="Decode in tiles of this many pixels (0: no tiling)."),
            ],
            outputs=[io.Image.Output()],
        )

    @classmethod
    def execute(cls, vae, latent, tile_size) -> io.NodeOutput:
        samples = latent["samples"]
        tile = (tile_size // 8, tile_size // 8) if tile_size else None
        bar = comfy.utils.ProgressBar(frame_count(samples.shape[2]))

        def progress(done, total):
            host.check_interrupt()
            bar.update_absolute(done, total)

        model = vae.load()
        with torch.no_grad():
            images = decode_to_images(model, samples.to(vae.device), tile, progress)
        return io.NodeOutput(images.to(host.intermediate_device()))


class Encode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeEncode",
            display_name="Encode Video (Spacetime)",
            category="Spacetime",
            description="Encodes frames (IMAGE, or a core VIDEO) into a Wan 2.1 LATENT. Wan's causal VAE encodes "
            "the first frame alone, then 4 frames per latent frame, so the clip needs 1 + 4k frames.",
            inputs=[
                VAE.Input("vae"),
                *clip_inputs(),
            ],
            outputs=[io.Latent.Output()],
        )

    @classmethod
    def execute(cls, vae, images=None, video=None) -> io.NodeOutput:
        frames, _ = clip_frames(images, video)
        problem = length_problem(len(frames))
        if problem:
            raise ValueError(f"the clip's {problem} (trim it, e.g. with core's Image From Batch, or extend it "
                             "with Re-cut / Extend)")
        model = vae.load()
        with torch.no_grad():
            samples = encode_images(model, frames.to(vae.device))
        return io.NodeOutput({"samples": samples.to(host.intermediate_device())})


def generation_metadata(prompt: dict | None, extra_pnginfo: dict | None) -> dict[str, str]:
    """The workflow, the executed graph and a provenance record, as the file's metadata."""
    metadata = {}
    if extra_pnginfo and "workflow" in extra_pnginfo:
        metadata["workflow"] = json.dumps(extra_pnginfo["workflow"])
    models, seed = [], None
    if prompt:
        metadata["prompt"] = json.dumps(prompt)
        for node in prompt.values():
            inputs = node.get("inputs", {})
            models += [inputs[name] for name in MODEL_INPUTS if isinstance(inputs.get(name), str)]
            if seed is None and isinstance(inputs.get("seed"), int):
                seed = inputs["seed"]
    metadata["spacetime"] = provenance_record(pack_version(), models, seed)
    return metadata


class SaveVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeSaveVideo",
            display_name="Save Video (Spacetime)",
            category="Spacetime",
            description="Saves frames as mp4 (H.264), webm (VP9) or looping webp/gif, with the workflow and a "
            "provenance record in the file. Never overwrites a file. Also outputs a core VIDEO.",
            inputs=[
                io.Image.Input("images"),
                io.Float.Input("fps", default=16.0, min=1.0, max=120.0, step=1.0),
                io.Combo.Input("format", options=FORMATS, default="mp4"),
                io.Int.Input("quality", default=85, min=0, max=100,
                             tooltip="0-100; 100 is near lossless (webp: lossless)."),
                io.String.Input("filename_prefix", default="spacetime/video"),
            ],
            outputs=[io.Video.Output()],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, format, filename_prefix):
        return checked(choice_problem("format", format, FORMATS),
                       None if filename_prefix is None else prefix_problem(filename_prefix))

    @classmethod
    def execute(cls, images, fps, format, quality, filename_prefix) -> io.NodeOutput:
        count, height, width = images.shape[:3]
        output = folder_paths.get_output_directory()
        problem = prefix_problem(filename_prefix)
        if problem:
            raise ValueError(problem)
        # Before core's path helper, which creates missing folders: through a link they would land outside.
        check_inside(output, os.path.join(output, os.path.dirname(filename_prefix)))
        folder, name, _, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, output, width, height)
        metadata = generation_metadata(cls.hidden.prompt, cls.hidden.extra_pnginfo)
        path = write_video(images, next_free_path(folder, name, format), fps, format, quality, metadata)
        video = InputImpl.VideoFromComponents(
            Types.VideoComponents(images=images, audio=None, frame_rate=frame_rate(fps)))
        saved = ui.SavedResult(os.path.basename(path), subfolder, io.FolderType.output)
        return io.NodeOutput(video, ui=ui.PreviewVideo([saved]))


NODES = [Encode, Decode, SaveVideo]
