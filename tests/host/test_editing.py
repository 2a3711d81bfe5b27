"""The edit nodes in the real host on tiny random models: given frames come back pixel-identical, through
our sampler or core's KSampler with a core Wan MODEL; lengths are exact; bad input gets a clear message."""
import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from graphs import base, decoded, sampled
from tiny_models import TINY_FILES

SOURCE_FRAMES, HEIGHT, WIDTH = 9, 48, 64


def source_graph():
    """Tiny loaders and a 9-frame 64×48 source clip (node "7", IMAGE), saved as PNGs under edit/source."""
    graph = decoded(sampled(base(WIDTH, HEIGHT, SOURCE_FRAMES)))
    graph["8"] = {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": "edit/source"}}
    return graph


def edited(graph, edit_node: dict, sampler="ours"):
    """The edit node as "20", sampled, decoded and finished into PNGs under edit/out; its latent and the
    sampled latent saved as edit/prepared and edit/sampled."""
    graph["20"] = edit_node
    if sampler == "ours":
        graph["21"] = {"class_type": "SpacetimeSampler", "inputs": {
            "dit": ["1", 0], "positive": ["4", 0], "negative": ["4", 1], "latent": ["20", 0], "seed": 2, "steps": 2,
            "cfg": 1.0, "shift": 8.0, "sampler": "euler", "denoise": 1.0}}
        graph["22"] = {"class_type": "SpacetimeDecode", "inputs": {"vae": ["3", 0], "latent": ["21", 0], "tile_size": 0}}
    else:  # core's loader, sampler and decoder on the same tiny files
        graph["30"] = {"class_type": "UNETLoader", "inputs": {"unet_name": TINY_FILES["diffusion_models"],
                                                              "weight_dtype": "default"}}
        graph["31"] = {"class_type": "VAELoader", "inputs": {"vae_name": TINY_FILES["vae"]}}
        graph["21"] = {"class_type": "KSampler", "inputs": {
            "model": ["30", 0], "positive": ["4", 0], "negative": ["4", 1], "latent_image": ["20", 0], "seed": 2,
            "steps": 2, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}}
        graph["22"] = {"class_type": "VAEDecode", "inputs": {"samples": ["21", 0], "vae": ["31", 0]}}
    graph["23"] = {"class_type": "SpacetimeFinishEdit", "inputs": {"edit": ["20", 1], "images": ["22", 0]}}
    graph["24"] = {"class_type": "SaveImage", "inputs": {"images": ["23", 0], "filename_prefix": "edit/out"}}
    graph["25"] = {"class_type": "SaveLatent", "inputs": {"samples": ["20", 0], "filename_prefix": "edit/prepared"}}
    graph["26"] = {"class_type": "SaveLatent", "inputs": {"samples": ["21", 0], "filename_prefix": "edit/sampled"}}
    return graph


def extend_node(**inputs):
    values = {"vae": ["3", 0], "images": ["7", 0], "keep_start": 2, "keep_end": 6, "direction": "forward",
              "add": 5.0, "unit": "frames", "fps": 16.0, "context_frames": 5, **inputs}
    return {"class_type": "SpacetimeExtend", "inputs": values}


def pictures(host, result, prefix: str) -> np.ndarray:
    paths = sorted(p for p in host.files_of(result) if p.name.startswith(prefix) and p.suffix == ".png")
    return np.stack([np.asarray(Image.open(p)) for p in paths])


def latents(host, result) -> dict:
    return {p.name.split("_")[0]: load_file(str(p))["latent_tensor"] for p in host.files_of(result)
            if p.suffix == ".latent"}


def run(host, graph):
    result = host.run(graph)
    assert result.status == "success", result.error
    return result


@pytest.mark.parametrize("sampler", ["ours", "core"])
def test_extension_keeps_the_range_pixel_identical(host, sampler):
    result = run(host, edited(source_graph(), extend_node(), sampler))
    source, out = pictures(host, result, "source"), pictures(host, result, "out")
    assert out.shape == (5 + 5, HEIGHT, WIDTH, 3)
    assert np.array_equal(out[:5], source[2:7])
    saved = latents(host, result)
    held = saved["prepared"].shape[2] - 1  # latent frames 0 … held-1 are known, the last is generated
    prepared, sampled = saved["prepared"], saved["sampled"]
    assert np.allclose(sampled[:, :, :2].numpy(), prepared[:, :, :2].numpy(), atol=1e-5)  # the sampler held them
    assert held >= 2 and not np.allclose(sampled[:, :, 2:].numpy(), prepared[:, :, 2:].numpy())


@pytest.mark.parametrize("sampler, batch_node", [
    ("core", {"class_type": "LatentFromBatch", "inputs": {"samples": ["20", 0], "batch_index": 0, "length": 1}}),
    ("ours", {"class_type": "RepeatLatentBatch", "inputs": {"samples": ["20", 0], "amount": 2}}),
])
def test_core_batch_nodes_keep_the_edits_noise_mask(host, sampler, batch_node):
    """Core's batch nodes slice and repeat a noise mask along its first axis: the edit's mask is batch first."""
    graph = edited(source_graph(), extend_node(), sampler)
    graph["40"] = batch_node
    graph["21"]["inputs"]["latent_image" if sampler == "core" else "latent"] = ["40", 0]
    for finishing in ("22", "23", "24"):  # a batch of 2 decodes to 2 clips; Finish Edit takes one
        del graph[finishing]
    saved = latents(host, run(host, graph))
    prepared, sampled = saved["prepared"], saved["sampled"]
    assert sampled.shape[0] == (1 if sampler == "core" else 2)
    for item in sampled:
        assert np.allclose(item[:, :2].numpy(), prepared[0, :, :2].numpy(), atol=1e-5)  # held
        assert (item[:, 2:] - prepared[0, :, 2:]).abs().mean() > 0.1  # generated (a held frame moves < 1e-5)


@pytest.mark.parametrize("direction, before", [("backward", 6), ("both", 3)])
def test_backward_and_both_ways_keep_the_range_where_it_belongs(host, direction, before):
    result = run(host, edited(source_graph(), extend_node(direction=direction, add=6.0)))
    source, out = pictures(host, result, "source"), pictures(host, result, "out")
    assert len(out) == 5 + 6 and np.array_equal(out[before:before + 5], source[2:7])


def test_a_video_input_and_seconds_at_its_own_frame_rate(host):
    graph = source_graph()
    graph["9"] = {"class_type": "SpacetimeSaveVideo", "inputs": {"images": ["7", 0], "fps": 8.0, "format": "webp",
                                                                 "quality": 85, "filename_prefix": "edit/video"}}
    node = extend_node(video=["9", 0], unit="seconds", add=0.5, fps=30.0)  # 0.5 s at the video's 8 fps: 4 frames
    del node["inputs"]["images"]
    result = run(host, edited(graph, node))
    source, out = pictures(host, result, "source"), pictures(host, result, "out")
    assert len(out) == 5 + 4 and np.array_equal(out[:5], source[2:7])


@pytest.mark.parametrize("sampler", ["ours", "core"])  # its latent has a still history in front: core samples it too
def test_image_to_video_starts_on_the_image(host, sampler):
    graph = source_graph()
    graph["9"] = {"class_type": "ImageFromBatch", "inputs": {"image": ["7", 0], "batch_index": 3, "length": 1}}
    result = run(host, edited(graph, {"class_type": "SpacetimeImageToVideo",
                                      "inputs": {"vae": ["3", 0], "image": ["9", 0], "length": 7}}, sampler))
    source, out = pictures(host, result, "source"), pictures(host, result, "out")
    assert len(out) == 7 and np.array_equal(out[0], source[3])
    # 4 still frames + 7 = 11 pixel frames, padded to 13 = 1 + 4·3: 4 latent frames (the 7 alone would make 3)
    assert latents(host, result)["prepared"].shape[2] == 4


def test_loop_and_blend_keep_their_clips(host):
    graph = edited(source_graph(), {"class_type": "SpacetimeLoop", "inputs": {
        "vae": ["3", 0], "images": ["7", 0], "bridge_frames": 4, "change_frames": 1, "context_frames": 5}})
    result = run(host, graph)
    source, out = pictures(host, result, "source"), pictures(host, result, "out")
    assert len(out) == 9 + 4 and np.array_equal(out[:7], source[1:8])

    graph = edited(source_graph(), {"class_type": "SpacetimeBlend", "inputs": {
        "vae": ["3", 0], "clip_a": ["7", 0], "clip_b": ["7", 0], "mode": "mix", "transition_frames": 4,
        "curve": "0:0, 0.3:0, 0.7:1, 1:1", "fit": "error", "context_frames": 5}})
    graph["21"]["inputs"]["denoise"] = 0.6
    result = run(host, graph)
    source, out = pictures(host, result, "source"), pictures(host, result, "out")
    assert len(out) == 9 and np.array_equal(out[:3], source[:3]) and np.array_equal(out[-3:], source[-3:])


def test_encode_video_makes_a_wan_latent(host):
    graph = source_graph()
    graph["9"] = {"class_type": "SpacetimeEncode", "inputs": {"vae": ["3", 0], "images": ["7", 0]}}
    graph["10"] = {"class_type": "SaveLatent", "inputs": {"samples": ["9", 0], "filename_prefix": "edit/encoded"}}
    result = run(host, graph)
    assert latents(host, result)["encoded"].shape == (1, 16, 3, HEIGHT // 8, WIDTH // 8)


def error_of(host, graph) -> str:
    result = host.run(graph)
    assert result.status == "error"
    return result.error["exception_message"]


@pytest.mark.parametrize("change, message", [
    (dict(keep_end=20), "the keep range 2–20 is outside the clip, which has 9 frames (0–8)"),
    (dict(add=0.0), "0.0 frames is no frame at all: ask for at least one frame"),
    (dict(images=None), "connect the clip as IMAGE frames or as a VIDEO, exactly one of the two"),
])
def test_bad_extensions_are_explained(host, change, message):
    node = extend_node(**change)
    node["inputs"] = {k: v for k, v in node["inputs"].items() if v is not None}
    assert message in error_of(host, edited(source_graph(), node))


def test_blending_clips_of_two_sizes_says_how_to_fix_it(host):
    graph = source_graph()
    graph["9"] = {"class_type": "ImageScale", "inputs": {"image": ["7", 0], "upscale_method": "bilinear",
                                                         "width": 32, "height": 32, "crop": "disabled"}}
    node = {"class_type": "SpacetimeBlend", "inputs": {
        "vae": ["3", 0], "clip_a": ["7", 0], "clip_b": ["9", 0], "mode": "transition", "transition_frames": 4,
        "curve": "0:0, 1:1", "fit": "error", "context_frames": 5}}
    assert "clip B is 32×32 but clip A is 64×48: set fit to 'resize'" in error_of(host, edited(graph, node))
    node["inputs"]["fit"] = "resize"
    result = run(host, edited(graph, node))
    assert pictures(host, result, "out").shape == (9 + 4 + 9, HEIGHT, WIDTH, 3)


def test_encoding_a_clip_of_the_wrong_length_names_the_valid_ones(host):
    graph = source_graph()
    graph["9"] = {"class_type": "ImageFromBatch", "inputs": {"image": ["7", 0], "batch_index": 0, "length": 6}}
    graph["10"] = {"class_type": "SpacetimeEncode", "inputs": {"vae": ["3", 0], "images": ["9", 0]}}
    graph["11"] = {"class_type": "SaveLatent", "inputs": {"samples": ["10", 0], "filename_prefix": "edit/bad"}}
    assert "length 6 is not a valid frame count" in error_of(host, graph)
    assert "use 5 or 9" in error_of(host, graph)


@pytest.mark.parametrize("hold, ok", [("auto", True), ("timestep", False)])
def test_auto_hold_falls_back_to_the_noise_mask_for_a_blending_mask(host, hold, ok):
    """The shipped model holds by timestep, which cannot hold a frame half-way; auto then uses the noise mask."""
    graph = {
        "1": {"class_type": "SpacetimeLoadDiT", "inputs": {"dit_name": "shapes_world_t2v.safetensors",
                                                            "dtype": "default", "attention": "sdpa"}},
        "2": {"class_type": "SpacetimeLoadTextEncoder",
              "inputs": {"text_encoder_name": "shapes_world_umt5.safetensors", "dtype": "default"}},
        "4": {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0], "prompt": "a red circle",
                                                               "negative_prompt": ""}},
        "5": {"class_type": "SpacetimeEmptyVideoLatent", "inputs": {"width": 64, "height": 64, "length": 1,
                                                                    "batch_size": 1}},
        "6": {"class_type": "SolidMask", "inputs": {"value": 0.5, "width": 64, "height": 64}},
        "7": {"class_type": "SpacetimeSampler", "inputs": {
            "dit": ["1", 0], "positive": ["4", 0], "negative": ["4", 1], "latent": ["5", 0], "seed": 1, "steps": 1,
            "cfg": 1.0, "shift": 3.0, "sampler": "euler", "denoise": 1.0, "frame_mask": ["6", 0], "hold": hold}},
        "8": {"class_type": "SaveLatent", "inputs": {"samples": ["7", 0], "filename_prefix": "edit/half"}},
    }
    if ok:
        run(host, graph)
    else:
        assert "holding frames by timestep needs mask values of exactly 0 or 1" in error_of(host, graph)
