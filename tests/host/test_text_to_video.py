"""The text-to-video workflow in the real host on tiny random models: file, progress, errors."""
import json

import pytest

from conftest import load_workflow
from comfy_host import PromptRefused
from graphs import set_inputs, with_tiny_models
from spacetime.engine.video import read_metadata, read_video

SMALL = dict(width=64, height=48, length=9, batch_size=1)


def tiny_t2v(object_info, steps=3, **latent):
    graph = with_tiny_models(load_workflow("Text to video (shapes world).json", object_info))
    set_inputs(graph, "SpacetimeEmptyVideoLatent", **{**SMALL, **latent})
    return set_inputs(graph, "SpacetimeSampler", steps=steps)


@pytest.mark.parametrize("format, fps", [("mp4", 16.0), ("webm", 12.0), ("webp", 20.0), ("gif", 25.0)])
def test_text_to_video_writes_a_decodable_video(host, object_info, format, fps):
    graph = set_inputs(tiny_t2v(object_info), "SpacetimeSaveVideo", format=format, fps=fps,
                       filename_prefix=f"t2v/{format}")
    result = host.run(graph)
    assert result.status == "success", result.error
    (path,) = host.files_of(result)
    assert path.suffix == f".{format}"
    frames, read_fps = read_video(str(path))
    assert frames.shape == (9, 48, 64, 3)
    assert read_fps == pytest.approx(fps, rel=0.02)
    metadata = read_metadata(str(path))
    provenance = json.loads(metadata["spacetime"])
    seed = next(n["inputs"]["seed"] for n in graph.values() if n["class_type"] == "SpacetimeSampler")
    assert provenance["seed"] == seed and "tiny_wan_t2v.safetensors" in provenance["models"]
    assert json.loads(metadata["prompt"])[str(next(iter(graph)))]["class_type"]


def test_sampler_reports_progress_for_every_step(host, object_info):
    result = host.run(tiny_t2v(object_info, steps=4))
    sampler = next(k for k, n in tiny_t2v(object_info).items() if n["class_type"] == "SpacetimeSampler")
    steps = [m["data"]["value"] for m in result.messages
             if m["type"] == "progress" and m["data"]["node"] == sampler]
    assert steps == [1, 2, 3, 4]


def test_saving_never_overwrites(host, object_info):
    graph = set_inputs(tiny_t2v(object_info, steps=1), "SpacetimeSaveVideo", filename_prefix="t2v/again")
    first = host.files_of(host.run(graph))[0]
    before = first.read_bytes()
    second = host.files_of(host.run(graph))[0]
    assert first != second and first.read_bytes() == before


def error_message(host, graph) -> str:
    result = host.run(graph)
    assert result.status == "error"
    return result.error["exception_message"]


WAN21_FILES = "https://huggingface.co/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files"


def refused_loaders(host, graph) -> dict[str, str]:
    """The loaders a graph was refused for, each with its error details joined."""
    with pytest.raises(PromptRefused) as refused:
        host.run(graph)
    assert "Value not in list" not in json.dumps(refused.value.body)  # ours, not core's bare message
    return {node["class_type"]: " ".join(error["details"] for error in node["errors"])
            for node in refused.value.body["node_errors"].values()}


def test_every_missing_model_file_is_named_before_running(host, object_info):
    graph = set_inputs(tiny_t2v(object_info), "SpacetimeLoadDiT", dit_name="wan2.1_t2v_1.3B_bf16.safetensors")
    set_inputs(graph, "SpacetimeLoadVAE", vae_name="wan_2.1_vae.safetensors")
    refused = refused_loaders(host, graph)
    assert set(refused) == {"SpacetimeLoadDiT", "SpacetimeLoadVAE"}
    for class_type, folder, name, there in [
            ("SpacetimeLoadDiT", "diffusion_models", "wan2.1_t2v_1.3B_bf16.safetensors", "tiny_wan_t2v.safetensors"),
            ("SpacetimeLoadVAE", "vae", "wan_2.1_vae.safetensors", "tiny_wan_vae.safetensors")]:
        message = refused[class_type]
        assert f"model file '{name}' was not found in the '{folder}' folders (" in message
        assert f"{host.base / 'models' / folder}," in message  # where it looked
        assert there in message and "shapes_world_" in message  # what is there instead
        assert f"download it from {WAN21_FILES}/{folder}/{name}" in message


def test_wan21_workflow_names_all_three_files_it_needs(host, object_info):
    refused = refused_loaders(host, load_workflow("Text to video (Wan 2.1).json", object_info))
    assert set(refused) == {"SpacetimeLoadDiT", "SpacetimeLoadTextEncoder", "SpacetimeLoadVAE"}
    assert f"{WAN21_FILES}/text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors" in refused["SpacetimeLoadTextEncoder"]


def test_latent_from_another_vae_is_refused(host, object_info):
    graph = tiny_t2v(object_info)
    graph["90"] = {"class_type": "EmptyHunyuanVideo15Latent",
                   "inputs": {"width": 64, "height": 48, "length": 9, "batch_size": 1}}
    set_inputs(graph, "SpacetimeSampler", latent=["90", 0])
    assert "the latent has 32 channels but the DiT takes 16" in error_message(host, graph)


@pytest.mark.parametrize("change, expected", [
    (dict(length=10), "length 10 is not a valid frame count"),
    (dict(width=70), "width 70 is not a multiple of 16; use 64 or 80"),
])
def test_bad_video_size_is_refused_before_running(host, object_info, change, expected):
    with pytest.raises(PromptRefused) as refused:
        host.run(tiny_t2v(object_info, **change))
    assert expected in json.dumps(refused.value.body)


def test_our_video_output_feeds_core_save_video(host, object_info):
    graph = set_inputs(tiny_t2v(object_info, steps=1), "SpacetimeSaveVideo", filename_prefix="t2v/ours")
    save = next(k for k, n in graph.items() if n["class_type"] == "SpacetimeSaveVideo")
    graph["99"] = {"class_type": "SaveVideo", "inputs": {"video": [save, 0], "filename_prefix": "t2v/core",
                                                         "format": "mp4", "codec": "h264"}}
    result = host.run(graph)
    assert result.status == "success", result.error
    core_file = next(p for p in host.files_of(result) if p.name.startswith("core"))
    frames, fps = read_video(str(core_file))
    assert frames.shape == (9, 48, 64, 3) and fps == 8  # the workflow's fps
