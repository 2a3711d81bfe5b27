"""The pack's ComfyExtension: the list of every node the pack provides."""
from comfy_api.latest import ComfyExtension

from . import attention_patch, latent, loaders, sampling, text, video


class SpacetimeExtension(ComfyExtension):
    async def get_node_list(self):
        return [*loaders.NODES, *text.NODES, *latent.NODES, *sampling.NODES, *video.NODES, *attention_patch.NODES]
