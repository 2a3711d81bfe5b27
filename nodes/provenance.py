"""Read Provenance: a video's C2PA manifest and whether it validates."""
import json

from comfy_api.latest import io, ui

from ..engine.video.content_credentials import read_provenance
from ..engine.video.input_files import input_path, input_problem, video_names
from . import host
from .validation import checked


class ReadProvenance(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeReadProvenance",
            display_name="Read Provenance (Spacetime)",
            category="Spacetime",
            description="Reads a video's C2PA manifest store (inside an mp4, or the NAME.c2pa beside a webm) from "
            "ComfyUI's input folder: who made it, from what, its ingredients (the videos it was edited from, with "
            "theirs), and its validation state: Valid (signature and hashes check out; a locally made key is "
            "valid but untrusted), Trusted, Invalid (changed since it was signed), or none.",
            inputs=[io.Combo.Input("file", options=video_names(host.input_directory()), upload=io.UploadType.video,
                                   tooltip="A video in ComfyUI's input folder (e.g. one Save Video made), or upload one.")],
            outputs=[io.String.Output("manifest", tooltip="The C2PA manifest store as JSON ({} when there is none)."),
                     io.String.Output("validation_state", tooltip="Valid, Trusted, Invalid, or none.")],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, file):
        return checked(None if file is None else input_problem(host.input_directory(), file, "video file"))

    @classmethod
    def fingerprint_inputs(cls, file):
        return float("nan")  # read every time: the file or its sidecar may have changed in place

    @classmethod
    def execute(cls, file) -> io.NodeOutput:
        read = read_provenance(input_path(host.input_directory(), file, "video file"))
        manifest = json.dumps(read.store, indent=1) if read.store else "{}"
        return io.NodeOutput(manifest, read.state, ui=ui.PreviewText(f"{file}: C2PA {read.state}\n{manifest}"))


NODES = [ReadProvenance]
