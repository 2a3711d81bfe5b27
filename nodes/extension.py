"""The pack's ComfyExtension: the shipped models' folders, and the list of every node the pack provides."""
import pathlib

from comfy_api.latest import ComfyExtension

from . import attention_patch, editing, host, latent, loaders, provenance, sampling, storyboard, styles, text, video
from . import parallel, step_cache

SHIPPED_MODELS = pathlib.Path(__file__).resolve().parents[1] / "models"


def register_shipped_models() -> None:
    """List the shapes-world model that ships with the pack beside the user's own files, so the default
    workflow runs even when ComfyUI's model folders are empty. Adding a folder twice is harmless."""
    for folder in ("diffusion_models", "text_encoders", "vae"):
        host.add_model_folder(folder, str(SHIPPED_MODELS / folder))


class SpacetimeExtension(ComfyExtension):
    async def get_node_list(self):
        # Here rather than in on_load, which ComfyUI 0.3.75 never calls; the loaders list files after this.
        register_shipped_models()
        return [*loaders.NODES, *text.NODES, *latent.NODES, *sampling.NODES, *video.NODES, *editing.NODES,
                *storyboard.NODES, *attention_patch.NODES, *styles.NODES, *provenance.NODES,
                *parallel.NODES, *step_cache.NODES]
