"""Load a video file, decode a latent to frames, and save frames (and sound) as a video file with the
workflow, a provenance record and a signed C2PA manifest inside."""
import json
import os

import torch
from comfy_api.latest import InputImpl, Types, io, ui

from ..engine.file_hash import file_state
from ..engine.frames import decode_to_images, encode_images
from ..engine.memory import check_decode, decode_bytes
from ..engine.models.vae import check_latent
from ..engine.video import PROVENANCE_KEY, Selection, frame_rate, load_video, next_free_path, write_video
from ..engine.video.input_files import input_path, input_problem, video_names
from ..engine.video.watermark import CORNERS, add_watermark
from ..engine.video.output_files import check_inside, folder_problem, prefix_problem
from ..engine.video_shape import frame_count, length_problem
from . import host, provenance_record
from .frames_input import clip_frames, clip_inputs
from .types import VAE
from .validation import checked, choice_problem

FORMATS = ["mp4", "webm", "webp", "gif"]


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
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE."),
                io.Latent.Input("latent", tooltip="The video latent to decode, e.g. from the Sampler."),
                io.Int.Input("tile_size", default=0, min=0, max=4096, step=16,
                             tooltip="Decode in tiles of this many pixels (0: no tiling)."),
            ],
            outputs=[io.Image.Output(tooltip="The video as IMAGE frames (1 + 4 per latent frame after the first).")],
        )

    @classmethod
    def execute(cls, vae, latent, tile_size) -> io.NodeOutput:
        samples = latent["samples"]
        check_latent(samples)  # before the memory estimate, which reads a video latent's five sizes
        tile = (tile_size // 8, tile_size // 8) if tile_size else None
        report = host.progress_reporter(frame_count(samples.shape[2]))

        def progress(done, total):
            report(done)

        first = vae.module.decoder.conv1.weight  # 4 x the VAE's base width
        vae_dim, dtype = first.shape[0] // 4, first.dtype
        model = vae.load(decode_bytes(samples.shape, vae_dim, dtype, tile))
        on_host = vae.device.type == "cpu"  # the frames are filled in host memory, beside the VAE's or not
        check_decode(samples.shape, vae_dim, dtype, tile, host.free_memory(vae.device),
                     None if on_host else host.free_memory(torch.device("cpu")))
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
                VAE.Input("vae", tooltip="The Wan VAE, from Load Wan VAE."),
                *clip_inputs(),
            ],
            outputs=[io.Latent.Output(tooltip="The clip as a Wan 2.1 latent, e.g. for Remix or a Sampler at denoise < 1.")],
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


def interruptible(images, chunk: int = 16):
    """The frames in chunks, stopping at ComfyUI's Cancel between them (the writer then removes its
    unfinished part file)."""
    for start in range(0, len(images), chunk):
        host.check_interrupt()
        yield images[start:start + chunk]


def generation_metadata(prompt: dict | None, extra_pnginfo: dict | None, record: dict) -> dict[str, str]:
    """The workflow, the executed graph and the provenance record, as the file's metadata."""
    metadata = {}
    if extra_pnginfo and "workflow" in extra_pnginfo:
        metadata["workflow"] = json.dumps(extra_pnginfo["workflow"])
    if prompt:
        metadata["prompt"] = json.dumps(prompt)
    metadata[PROVENANCE_KEY] = json.dumps(record, sort_keys=True)
    return metadata


class SaveVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeSaveVideo",
            display_name="Save Video (Spacetime)",
            category="Spacetime",
            description="Saves frames as mp4 (H.264), webm (VP9) or looping webp/gif, with the workflow and a "
            "provenance record in the file, and a signed C2PA manifest (mp4: inside, webm: a NAME.c2pa beside it). "
            "Never overwrites a file. Also outputs a core VIDEO.",
            inputs=[
                io.Image.Input("images", tooltip="The frames to save, e.g. from Decode or Finish Edit."),
                io.Float.Input("fps", default=16.0, min=1.0, max=120.0, step=1.0,
                               tooltip="Playback frame rate in frames per second (Wan 2.1 makes 16)."),
                io.Combo.Input("format", options=FORMATS, default="mp4",
                               tooltip="mp4 (H.264) plays everywhere; webm (VP9); webp and gif loop, without sound."),
                io.Int.Input("quality", default=85, min=0, max=100,
                             tooltip="0-100; 100 is near lossless (webp: lossless)."),
                io.String.Input("filename_prefix", default="spacetime/video",
                                tooltip="Start of the file name inside the output folder; 'a/b' saves b… in folder a."),
                io.Audio.Input("audio", optional=True,
                               tooltip="Sound to put beside the frames (mp4: AAC, webm: Opus), cut to the video."),
                io.String.Input("watermark", default="", optional=True,
                                tooltip="Visible text drawn in a corner of every frame (empty: none)."),
                io.Float.Input("watermark_opacity", default=0.5, min=0.0, max=1.0, step=0.05, optional=True,
                               tooltip="How opaque the watermark text is: 0 invisible, 1 solid."),
                io.Combo.Input("watermark_corner", options=list(CORNERS), default=CORNERS[0], optional=True,
                               tooltip="The corner the watermark is drawn in."),
            ],
            outputs=[io.Video.Output(tooltip="The saved video as a core VIDEO (frames, fps and audio).")],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo, io.Hidden.unique_id],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, format, filename_prefix):
        return checked(choice_problem("format", format, FORMATS),
                       None if filename_prefix is None else prefix_problem(filename_prefix))

    @classmethod
    def execute(cls, images, fps, format, quality, filename_prefix, audio=None, watermark="", watermark_opacity=0.5,
                watermark_corner=CORNERS[0]) -> io.NodeOutput:
        count, height, width = images.shape[:3]
        output = host.output_directory()
        problem = prefix_problem(filename_prefix) or folder_problem(output, filename_prefix)
        if problem:
            raise ValueError(problem)
        # Before core's path helper, which creates missing folders: through a link they would land outside.
        check_inside(output, os.path.join(output, os.path.dirname(filename_prefix)))
        folder, name, subfolder = host.save_location(filename_prefix, width, height)
        images = add_watermark(images, watermark, watermark_opacity, watermark_corner)
        marked = {"watermark": watermark} if watermark and watermark_opacity else {}
        record, sources = provenance_record.gather(cls.hidden.prompt, cls.hidden.unique_id, **marked)
        metadata = generation_metadata(cls.hidden.prompt, cls.hidden.extra_pnginfo, record)
        target = next_free_path(folder, name, format)
        signer = provenance_record.signer(record, os.path.basename(target), sources)
        path = write_video(interruptible(images), target, fps, format, quality, metadata, audio=audio, sign=signer)
        if signer:
            signer.finish(path)
        video = InputImpl.VideoFromComponents(
            Types.VideoComponents(images=images, audio=audio, frame_rate=frame_rate(fps)))
        saved = ui.SavedResult(os.path.basename(path), subfolder, io.FolderType.output)
        return io.NodeOutput(video, ui=ui.PreviewVideo([saved]))


class LoadVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeLoadVideo",
            display_name="Load Video (Spacetime)",
            category="Spacetime",
            description="Loads a video from ComfyUI's input folder (or an upload) as frames, its frame rate and its "
            "sound. Picks a frame range, every n-th frame or a target fps, with caps on frames and size; a "
            "selection that would not fit in memory is refused before decoding, with what would fit.",
            inputs=[
                io.Combo.Input("file", options=video_names(host.input_directory()), upload=io.UploadType.video,
                               tooltip="A video in ComfyUI's input folder (mp4, webm, mkv, mov, ...), or upload one."),
                io.Int.Input("start", default=0, min=0, max=10**7, tooltip="First frame to read (0: the first)."),
                io.Int.Input("count", default=0, min=0, max=10**7,
                             tooltip="Frames of the file to read from start (0: to the end)."),
                io.Int.Input("every_nth", default=1, min=1, max=1000, tooltip="Keep every n-th of those frames."),
                io.Float.Input("target_fps", default=0.0, min=0.0, max=240.0, step=1.0,
                               tooltip="Re-time to this frame rate, dropping or repeating frames (0: keep)."),
                io.Int.Input("max_frames", default=0, min=0, max=10**6, tooltip="At most this many frames (0: no cap)."),
                io.Int.Input("max_side", default=0, min=0, max=16384, step=16,
                             tooltip="Scale down so the longer side is at most this many pixels (0: keep)."),
            ],
            outputs=[io.Image.Output("frames", tooltip="The selected frames as IMAGE."),
                     io.Float.Output("fps", tooltip="The frame rate of the selected frames, for Save Video."),
                     io.Audio.Output("audio", tooltip="The file's sound as core AUDIO, e.g. for Save Video.")],
        )

    @classmethod
    def validate_inputs(cls, file):
        # Our own check replaces core's plain 'not in list': it says why (outside the folder, a link, missing).
        return checked(None if file is None else input_problem(host.input_directory(), file, "video file"))

    @classmethod
    def fingerprint_inputs(cls, file, **_):
        return file_state(input_path(host.input_directory(), file, "video file"))

    @classmethod
    def execute(cls, file, start, count, every_nth, target_fps, max_frames, max_side) -> io.NodeOutput:
        path = input_path(host.input_directory(), file, "video file")
        selection = Selection(start, count, every_nth, target_fps, max_frames, max_side)
        loaded = load_video(path, selection)
        return io.NodeOutput(loaded.frames, loaded.fps, loaded.audio)


NODES = [Encode, Decode, SaveVideo, LoadVideo]
