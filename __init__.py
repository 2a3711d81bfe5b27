"""Spacetime: Sora-style video features for ComfyUI on local Wan 2.1 models.

ComfyUI imports this folder as a package and calls `comfy_entrypoint`. Nothing ComfyUI-specific is
imported at module level, so the pure-torch library (`engine`) and `kernels` import without a host.
"""


async def comfy_entrypoint():
    from .nodes.extension import SpacetimeExtension

    return SpacetimeExtension()
