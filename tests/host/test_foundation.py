"""The pack inside a real ComfyUI host: it loads, every workflow runs, bad graphs get clear errors."""
import pathlib

import pytest
from safetensors.torch import load_file

from conftest import WORKFLOWS, load_workflow
from comfy_host import PromptRefused
from graphs import set_inputs, with_tiny_models
from spacetime.engine.video import read_video


def check_empty_video_latent(files: list[pathlib.Path]):
    (latent_file,) = [f for f in files if f.suffix == ".latent"]
    samples = load_file(str(latent_file))["latent_tensor"]
    assert samples.shape == (1, 16, 5, 24, 40)  # 17 frames of 320x192
    assert samples.abs().sum() == 0


def video_check(frame_count, height, width, fps):
    def check(files: list[pathlib.Path]):
        (video,) = files
        frames, read_fps = read_video(str(video))
        assert video.suffix == ".mp4" and frames.shape == (frame_count, height, width, 3) and read_fps == fps
    return check


def webp_check(frame_count):
    def check(files: list[pathlib.Path]):
        (video,) = files
        frames, _ = read_video(str(video))
        assert video.suffix == ".webp" and frames.shape == (frame_count, 64, 64, 3)
    return check


# Every workflow in workflows/ must have a check of the files it writes.
CHECKS = {
    "Empty video latent": check_empty_video_latent,
    "Text to video (shapes world)": video_check(17, 64, 64, 8),  # as shipped: the pack's own model, no downloads
    "Text to video (Wan 2.1)": video_check(9, 48, 64, 16),
    "Re-cut and extend": video_check(17, 64, 64, 8),  # 5 kept frames + 12 new
    "Image to video": video_check(17, 64, 64, 8),
    "Seamless loop": webp_check(25),  # 17 + an 8-frame bridge back to the start
    "Blend two clips": video_check(17 + 8 + 17, 64, 64, 8),
    "Style preset": video_check(17, 64, 64, 8),  # text to video through the shapes-world preset
    "Storyboard from text": video_check(17, 64, 64, 16),  # saved at the storyboard's fps: cards at their seconds
    "Storyboard from cards": video_check(17, 64, 64, 16),  # with a keyframe image at frame 8
    "Long storyboard in windows": video_check(65, 64, 64, 16),  # 4× the shapes model's length, in windows of 17
    "Remix a video": video_check(17, 64, 64, 8),  # a 17-frame video in, re-imagined by FlowEdit
}
# Files a workflow reads from ComfyUI's input folder, made by the test: (name, maker).
INPUTS = {
    "Image to video": ("spacetime_red_circle.png", lambda path: write_shapes_frame(path, "circle", "blue")),
    "Storyboard from cards": ("spacetime_red_square.png", lambda path: write_shapes_frame(path, "square", "black")),
    "Remix a video": ("spacetime_red_circle.mp4", lambda path: write_shapes_video(path)),
}


def rendered(shape: str, background: str, frames: int):
    from spacetime.engine.shapes import ClipSpec, ObjectSpec, render_clip

    return render_clip(ClipSpec(background, (ObjectSpec(shape, "red", "right"),), seed=3), frames, 64)


def write_shapes_frame(path: pathlib.Path, shape: str, background: str):
    """A rendered frame of a red shape, a workflow's image input."""
    from PIL import Image

    Image.fromarray((rendered(shape, background, 1)[0] * 255).round().byte().numpy()).save(path)


def write_shapes_video(path: pathlib.Path):
    """A rendered 17-frame clip of a red circle on black, the remix workflow's video input."""
    from spacetime.engine.video import write_video

    write_video(rendered("circle", "black", 17), str(path), fps=8.0, format="mp4")
# Workflows that need the user's Wan 2.1 files run on the tiny test models, smaller and shorter.
NEEDS_USER_MODELS = {"Text to video (Wan 2.1)"}


def small_run_of(name: str, object_info: dict) -> dict:
    graph = load_workflow(f"{name}.json", object_info)
    if name in NEEDS_USER_MODELS:
        with_tiny_models(graph)
        set_inputs(graph, "SpacetimeEmptyVideoLatent", width=64, height=48, length=9)
        set_inputs(graph, "SpacetimeSampler", steps=2)
    return graph


def test_pack_registers_its_nodes(object_info):
    node = object_info["SpacetimeEmptyVideoLatent"]
    assert node["category"] == "Spacetime"
    assert node["input_order"]["required"] == ["width", "height", "length", "batch_size"]


def test_every_workflow_has_a_check():
    assert sorted(p.stem for p in WORKFLOWS.glob("*.json")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_workflow_runs_and_writes_its_files(host, object_info, name):
    graph = small_run_of(name, object_info)
    if name in INPUTS:
        file_name, make = INPUTS[name]
        make(host.base / "input" / file_name)
    result = host.run(graph)
    assert result.status == "success", result.error
    files = host.files_of(result)
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    CHECKS[name](files)
    executed = {m["data"].get("node") for m in result.messages if m["type"] == "executing"}
    assert set(graph) <= executed


def refusal(host, graph) -> dict:
    with pytest.raises(PromptRefused) as refused:
        host.run(graph)
    assert refused.value.status == 400
    return refused.value.body


def latent_graph(**inputs):
    values = {"width": 320, "height": 192, "length": 17, "batch_size": 1, **inputs}
    return {"1": {"class_type": "SpacetimeEmptyVideoLatent", "inputs": values},
            "2": {"class_type": "SaveLatent", "inputs": {"samples": ["1", 0], "filename_prefix": "bad"}}}


def test_invalid_length_is_refused_with_the_nearest_valid_lengths(host):
    body = refusal(host, latent_graph(length=19))
    error = body["node_errors"]["1"]["errors"][0]  # the host repeats it once per validated input
    assert error["type"] == "custom_validation_failed"
    assert "length 19 is not a valid frame count" in error["details"] and "use 17 or 21" in error["details"]


def test_size_not_multiple_of_16_is_refused_with_nearest_sizes(host):
    body = refusal(host, latent_graph(width=330))
    assert "width 330 is not a multiple of 16; use 320 or 336" in body["node_errors"]["1"]["errors"][0]["details"]


def test_value_out_of_range_is_refused(host):
    body = refusal(host, latent_graph(batch_size=0))
    assert body["node_errors"]["1"]["errors"][0]["type"] == "value_smaller_than_min"
    body = refusal(host, latent_graph(width=16384))
    assert "width 16384 is larger than the maximum 8192" in body["node_errors"]["1"]["errors"][0]["details"]
