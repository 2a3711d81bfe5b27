"""The DiT loader's block swap in the real host: a model streamed block by block gives the video of the
model placed whole."""
import numpy as np

from conftest import load_workflow
from graphs import problem_of, set_inputs, with_tiny_models
from spacetime.engine.video import read_video


def text_to_video(object_info, blocks_on_device: int) -> dict:
    graph = with_tiny_models(load_workflow("Text to video (shapes world).json", object_info))
    set_inputs(graph, "SpacetimeEmptyVideoLatent", width=64, height=48, length=9, batch_size=1)
    set_inputs(graph, "SpacetimeSampler", steps=2)
    set_inputs(graph, "SpacetimeSaveVideo", format="webp", filename_prefix=f"swap/{blocks_on_device}")
    return set_inputs(graph, "SpacetimeLoadDiT", blocks_on_device=blocks_on_device)


def test_one_block_on_the_device_gives_the_whole_models_video(host, object_info):
    videos = []
    for blocks in (-1, 1):  # the tiny DiT has 2 blocks: with 1, the other is streamed in at every step
        result = host.run(text_to_video(object_info, blocks))
        assert result.status == "success", result.error
        (path,) = host.files_of(result)
        videos.append(read_video(str(path))[0])
    assert "Spacetime block swap: 1 of 2 DiT blocks on cpu" in host.log_tail(400)
    assert videos[0].shape == (9, 48, 64, 3) and np.array_equal(videos[0], videos[1])


def test_a_block_count_out_of_range_is_refused(host, object_info):
    assert "blocks_on_device" in problem_of(host, text_to_video(object_info, 65))
