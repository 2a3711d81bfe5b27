"""The Sampler's live preview as the host sends it: the clip's aspect and pixel size, the decoded colours."""
import io
import struct

import numpy
import torch
from PIL import Image

from conftest import load_workflow
from graphs import node_of, set_inputs
from spacetime.engine.preview import frames_on_latent_grid
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
    graph = load_workflow("text_to_video.json", object_info)  # the shipped model, which has a fitted map
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
