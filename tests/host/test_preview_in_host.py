"""The Sampler's live preview as the host sends it: the clip's aspect and pixel size, the decoded colours (the
shipped model's fitted map; for Wan 2.1, the map the host's core carries)."""
import io
import struct

import numpy
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import import_host_comfy, load_workflow
from graphs import base, node_of, sampled, set_inputs
from spacetime.engine.preview import frames_on_latent_grid, latent_preview
from spacetime.engine.video import read_video

PREVIEW_IMAGE = 1  # the server's binary event for a preview: 4 bytes event, 4 bytes image type, the image


def preview_images(result) -> list[Image.Image]:
    images = []
    for frame in result.previews:
        event, image_type = struct.unpack(">II", frame[:8])
        assert event == PREVIEW_IMAGE and image_type == 1  # JPEG
        images.append(Image.open(io.BytesIO(frame[8:])).convert("RGB"))
    return images


def test_preview_is_the_clip_at_its_aspect_in_its_decoded_colours(host, object_info):
    graph = load_workflow("Text to video (shapes world).json", object_info)  # the shipped model, which has a fitted map
    set_inputs(graph, "SpacetimeEmptyVideoLatent", width=96, height=64, length=17)
    set_inputs(graph, "SpacetimeSampler", steps=12, sampler="euler")
    set_inputs(graph, "SpacetimeSaveVideo", filename_prefix="preview/clip")
    result = host.run(graph)
    assert result.status == "success", result.error
    previews = preview_images(result)
    sampler = node_of(graph, "SpacetimeSampler")
    steps = [m for m in result.messages if m["type"] == "progress" and m["data"]["node"] == sampler]
    assert len(previews) == len(steps) == 12
    assert {image.size for image in previews} == {(96, 64)}  # the clip's size: 12×8 latent pixels, ×8

    # The last preview (euler: its prediction is the finished clip) against the saved clip's middle latent frame.
    (video,) = host.files_of(result)
    frames, _ = read_video(str(video))
    decoded = frames_on_latent_grid(frames.permute(3, 0, 1, 2)[None] * 2 - 1)[:, :, 2]
    shown = torch.from_numpy(numpy.array(previews[-1].reduce(8))).permute(2, 0, 1)[None] / 255  # [1, 3, 8, 12]
    # Per channel the background's flat colour leaves little to correlate; over R, G and B together the
    # colours match (the false-colour projection has no reason to).
    assert torch.corrcoef(torch.stack([shown.flatten(), decoded.flatten()]))[0, 1] > 0.6


def core_wan21_rgb(raw_frame: torch.Tensor) -> torch.Tensor:
    """uint8 [h, w, 3]: a raw Wan 2.1 latent frame [16, h, w] in core's own preview colours, by hand from the
    factors of the host's comfy.latent_formats (read here, as the pack reads them in the server)."""
    from comfy.latent_formats import Wan21

    wan21 = Wan21()
    model_space = wan21.process_in(raw_frame[None, :, None])[0, :, 0]  # [16, h, w]
    factors, bias = torch.tensor(wan21.latent_rgb_factors), torch.tensor(wan21.latent_rgb_factors_bias)
    rgb = torch.einsum("chw,cr->hwr", model_space, factors) + bias
    return (((rgb + 1) / 2).clamp(0, 1) * 255).round().to(torch.uint8)


def test_a_wan21_model_is_previewed_with_the_hosts_core_map_at_its_aspect(host):
    import_host_comfy()
    graph = sampled(base(width=96, height=48, length=9), steps=2)  # the tiny Wan 2.1-layout test model
    graph["8"] = {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "preview/wan21"}}
    result = host.run(graph)
    assert result.status == "success", result.error
    previews = preview_images(result)
    assert len(previews) == 2 and {image.size for image in previews} == {(96, 48)}  # 12×6 latent pixels, ×8

    (path,) = host.files_of(result)
    raw = load_file(str(path))["latent_tensor"]  # euler: the last step's prediction is this latent
    assert raw.shape == (1, 16, 3, 6, 12)
    by_hand = core_wan21_rgb(raw[0, :, raw.shape[2] // 2].float())
    expected, false_colour = (
        numpy.asarray(Image.fromarray(frame.numpy()).resize((96, 48), Image.Resampling.BILINEAR), numpy.float32)
        for frame in (by_hand, latent_preview(raw)))  # shown as the Sampler shows a frame
    shown = numpy.asarray(previews[-1], numpy.float32)
    difference = numpy.abs(shown - expected).mean()
    print(f"preview vs core's map by hand: mean |difference| {difference:.2f} levels; "
          f"vs false colour {numpy.abs(shown - false_colour).mean():.2f}")
    assert difference <= 4  # JPEG's rounding only
    assert numpy.abs(shown - false_colour).mean() > 4 * max(difference, 1)


def test_the_host_door_reads_cores_wan21_map_and_gives_none_without_it(monkeypatch):
    comfy = import_host_comfy()
    from comfy.latent_formats import Wan21
    from spacetime.nodes import host as pack_host

    found = pack_host.core_wan21_preview()
    assert torch.equal(found["factors"], torch.tensor(Wan21.latent_rgb_factors))
    assert torch.equal(found["bias"], torch.tensor(Wan21.latent_rgb_factors_bias))
    assert found["mean"].numel() == found["std"].numel() == 16 and found["scale"] == Wan21.scale_factor
    # A host whose Wan21 carries no map, or one of another shape or kind, leaves the preview in false colour.
    for factors in (None, Wan21.latent_rgb_factors[:12], [["0.1", "x", "y"]] * 16):
        monkeypatch.setattr(comfy.latent_formats.Wan21, "latent_rgb_factors", factors)
        assert pack_host.core_wan21_preview() is None, factors
    monkeypatch.delattr(comfy.latent_formats, "Wan21")
    assert pack_host.core_wan21_preview() is None
