"""What a saved video was made from, read off the executed graph (not a node file).

The save node walks the graph upstream from itself, so a graph with two saves records for each
only what fed it: the model files (with their SHA-256), the prompts, the sampler and edit settings,
and the video files it was made from, which become the C2PA manifest's ingredients. Inputs that come
from another node's output are not known here; literal values are.
"""
import logging
import os

from ..engine.file_hash import HashCache
from ..engine.version import pack_version
from ..engine.video.content_credentials import Manifest, VideoSigner, available
from ..engine.video.input_files import input_path
from ..engine.video.metadata import provenance
from ..engine.video.signing_keys import signing_identity
from . import host

MODEL_INPUTS = {"dit_name": "diffusion_models", "text_encoder_name": "text_encoders", "vae_name": "vae",
                "unet_name": "diffusion_models", "clip_name": "text_encoders", "ckpt_name": "checkpoints"}
PROMPT_NODES = {"SpacetimeTextEncode", "CLIPTextEncode"}
SAMPLER_NODES = {"SpacetimeSampler", "SpacetimeRemix", "KSampler", "KSamplerAdvanced"}
EDIT_NODES = {"SpacetimeExtend", "SpacetimeLoop", "SpacetimeBlend", "SpacetimeImageToVideo"}
SOURCE_NODES = {"SpacetimeLoadVideo", "LoadVideo"}  # their `file` is a video in the input folder
KEYS_FOLDER = "spacetime_c2pa"

_hashes: HashCache | None = None


def keys_folder() -> str:
    """Where the signing key, the user's own certificate and the model hash cache live."""
    return str(host.user_directory() / KEYS_FOLDER)


def sha256(path: str) -> str:
    global _hashes
    cache_file = os.path.join(keys_folder(), "file_hashes.json")
    if _hashes is None or _hashes.cache_file != cache_file:
        _hashes = HashCache(cache_file)
    return _hashes.sha256(path)


def upstream(prompt: dict, node_id) -> list[str]:
    """The ids of the nodes that feed `node_id` (itself included), in the graph's order."""
    if node_id is None or str(node_id) not in prompt:
        return list(prompt)  # not known which node saves: everything in the graph
    seen, todo = set(), [str(node_id)]
    while todo:
        current = todo.pop()
        if current in seen or current not in prompt:
            continue
        seen.add(current)
        for value in prompt[current].get("inputs", {}).values():
            if _is_link(value):
                todo.append(str(value[0]))
    return [key for key in prompt if key in seen]


def gather(prompt: dict | None, node_id, **extra) -> tuple[dict, list[str]]:
    """(provenance record, paths of the source videos) for the save node `node_id` of `prompt`."""
    models, model_files, prompts, sampling, edits, sources = [], [], [], [], [], []
    for key in upstream(prompt or {}, node_id):
        kind, inputs = prompt[key].get("class_type"), prompt[key].get("inputs", {})
        settings = {name: value for name, value in inputs.items() if _is_literal(value)}
        for name, folder in MODEL_INPUTS.items():
            path = host.model_file_path(folder, inputs[name]) if isinstance(inputs.get(name), str) else None
            if path and inputs[name] not in models:
                models.append(inputs[name])
                model_files.append({"name": inputs[name], "folder": folder, "sha256": sha256(path)})
        if kind in PROMPT_NODES:
            prompts.append({"node": kind, **settings})
        if kind in SAMPLER_NODES:
            sampling.append({"node": kind, **settings})
        if kind in EDIT_NODES:
            edits.append({"node": kind, **settings})
        if kind in SOURCE_NODES and isinstance(inputs.get("file"), str):
            path = input_path(host.input_directory(), inputs["file"], "video file")
            if path not in sources:
                sources.append(path)
    seed = next((step["seed"] for step in sampling if isinstance(step.get("seed"), int)), None)
    files = [{"file": os.path.basename(path), "sha256": sha256(path)} for path in sources]
    record = provenance(pack_version(), models, seed, model_files=model_files, prompts=prompts, sampling=sampling,
                        edits=edits, sources=files, **extra)
    return record, sources


def signer(record: dict, title: str, sources: list[str]) -> VideoSigner | None:
    """The save's C2PA signing hook, or None when c2pa-python is not installed (plain JSON only)."""
    if not available():
        logging.warning("Spacetime: c2pa-python is not installed, so %s gets no C2PA manifest (only the plain "
                        "JSON record): pip install -r requirements.txt", title)
        return None
    return VideoSigner(Manifest(record, title, sources), signing_identity(keys_folder()))


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _is_literal(value) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None
