"""What newer core does differently around the pack, in-process on the host's own modules: ComfyUI 0.33.0
awaits ComfyExtension.on_load before get_node_list (0.3.75 never calls it), and turns on dynamic VRAM on
NVIDIA GPUs, switching core's default model patcher."""
import asyncio

import torch

from conftest import import_host_comfy


def test_extension_registers_once_whether_or_not_on_load_is_called():
    import_host_comfy()
    import folder_paths
    from spacetime.nodes.extension import SHIPPED_MODELS, SpacetimeExtension

    extension = SpacetimeExtension()
    node_lists = []
    for _ in range(2):  # as 0.33.0 loads the pack, twice over: a reload must not add anything either
        asyncio.run(extension.on_load())
        node_lists.append(asyncio.run(extension.get_node_list()))
    assert node_lists[0] == node_lists[1]
    node_ids = [node.define_schema().node_id for node in node_lists[0]]
    assert len(node_ids) == len(set(node_ids))
    for folder in ("diffusion_models", "text_encoders", "vae"):
        assert folder_paths.get_folder_paths(folder).count(str(SHIPPED_MODELS / folder)) == 1


def test_placement_keeps_the_estimating_patcher_under_dynamic_vram(monkeypatch):
    import_host_comfy()
    import comfy.model_patcher
    from spacetime.nodes import host

    dynamic = getattr(comfy.model_patcher, "ModelPatcherDynamic", None)  # absent in 0.3.75
    if dynamic is not None:  # what 0.33.0's main.py does when dynamic VRAM starts
        import comfy.memory_management

        monkeypatch.setattr(comfy.model_patcher, "CoreModelPatcher", dynamic)
        monkeypatch.setattr(comfy.memory_management, "aimdo_enabled", True)
    module = torch.nn.Linear(4, 4)
    placed = host.place(module, (torch.device("cpu"), torch.device("cpu")))
    assert type(placed.patcher) is comfy.model_patcher.ModelPatcher
    assert placed.load() is module
    x = torch.randn(2, 4)
    assert torch.equal(placed.module(x), torch.nn.functional.linear(x, module.weight, module.bias))
