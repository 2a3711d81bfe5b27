"""An interrupt during sampling ends the run within one step and writes no file."""
from conftest import load_workflow
from graphs import node_of, set_inputs, with_tiny_models


def test_interrupt_stops_sampling_within_one_step(host, object_info):
    graph = with_tiny_models(load_workflow("text_to_video.json", object_info))
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
