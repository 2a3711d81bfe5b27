"""An interrupt during sampling ends the run within one step, during decoding within one latent frame,
and writes no file."""
from conftest import load_workflow
from graphs import node_of, set_inputs, with_tiny_models
from tiny_models import TINY_FILES


def test_interrupt_stops_sampling_within_one_step(host, object_info):
    graph = with_tiny_models(load_workflow("Text to video (shapes world).json", object_info))
    set_inputs(graph, "SpacetimeEmptyVideoLatent", width=128, height=128, length=17)
    set_inputs(graph, "SpacetimeSampler", steps=400)
    set_inputs(graph, "SpacetimeSaveVideo", filename_prefix="interrupted/clip")
    sampler = node_of(graph, "SpacetimeSampler")
    at_interrupt = []

    def interrupt_at_step_two(message):
        data = message.get("data", {})
        if message["type"] == "progress" and data.get("node") == sampler and data["value"] == 2 and not at_interrupt:
            at_interrupt.append(data["value"])
            host.interrupt()

    result = host.run(graph, on_message=interrupt_at_step_two)
    assert at_interrupt, "the sampler reported no progress"
    steps = [m["data"]["value"] for m in result.messages if m["type"] == "progress" and m["data"]["node"] == sampler]
    assert max(steps) <= at_interrupt[0] + 1
    assert result.status == "error"
    assert any(m["type"] == "execution_interrupted" for m in result.messages)
    assert not (host.outputs / "interrupted").exists()


def test_interrupt_stops_decoding_within_one_latent_frame(host):
    graph = {
        "1": {"class_type": "SpacetimeLoadVAE", "inputs": {"vae_name": TINY_FILES["vae"], "dtype": "fp32"}},
        "2": {"class_type": "SpacetimeEmptyVideoLatent",
              "inputs": {"width": 64, "height": 64, "length": 33, "batch_size": 1}},
        "3": {"class_type": "SpacetimeDecode", "inputs": {"vae": ["1", 0], "latent": ["2", 0], "tile_size": 0}},
        "4": {"class_type": "SpacetimeSaveVideo", "inputs": {"images": ["3", 0], "fps": 16.0, "format": "mp4",
                                                             "quality": 85, "filename_prefix": "interrupted_decode/clip"}},
    }
    at_interrupt = []

    def interrupt_at_first_frame(message):
        data = message.get("data", {})
        if message["type"] == "progress" and data.get("node") == "3" and not at_interrupt:
            at_interrupt.append(data["value"])
            host.interrupt()

    result = host.run(graph, on_message=interrupt_at_first_frame)
    assert at_interrupt == [1], "the decoder reported no progress, or not after its first frame"
    frames = [m["data"]["value"] for m in result.messages if m["type"] == "progress" and m["data"]["node"] == "3"]
    assert max(frames) <= 1 + 4  # at most the next latent frame's 4 video frames were decoded
    assert result.status == "error"
    assert any(m["type"] == "execution_interrupted" for m in result.messages)
    assert not (host.outputs / "interrupted_decode").exists()
