"""Small helpers for building and editing API-format graphs in host tests, and for what a user is told."""
import json

from comfy_host import PromptRefused
from tiny_models import TINY_FILES

TINY_LOADERS = {
    "SpacetimeLoadDiT": {"dit_name": TINY_FILES["diffusion_models"]},
    "SpacetimeLoadTextEncoder": {"text_encoder_name": TINY_FILES["text_encoders"]},
    "SpacetimeLoadVAE": {"vae_name": TINY_FILES["vae"]},
}


def node_of(graph: dict, class_type: str) -> str:
    (node_id,) = [key for key, node in graph.items() if node["class_type"] == class_type]
    return node_id


def set_inputs(graph: dict, class_type: str, **values) -> dict:
    graph[node_of(graph, class_type)]["inputs"].update(values)
    return graph


def with_tiny_models(graph: dict) -> dict:
    """The graph with every loader pointed at the tiny test models."""
    for class_type, values in TINY_LOADERS.items():
        if any(node["class_type"] == class_type for node in graph.values()):
            set_inputs(graph, class_type, **values)
    return graph


# The tiny models' text-to-video chain: loaders 1–3, prompt 4, empty latent 5, sampler 6, decode 7.
def base(width=64, height=48, length=9) -> dict:
    return {
        "1": {"class_type": "SpacetimeLoadDiT", "inputs": {"dit_name": TINY_FILES["diffusion_models"],
                                                            "dtype": "default", "attention": "sdpa"}},
        "2": {"class_type": "SpacetimeLoadTextEncoder",
              "inputs": {"text_encoder_name": TINY_FILES["text_encoders"], "dtype": "default"}},
        "3": {"class_type": "SpacetimeLoadVAE", "inputs": {"vae_name": TINY_FILES["vae"], "dtype": "default"}},
        "4": {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0], "prompt": "a red fox",
                                                               "negative_prompt": ""}},
        "5": {"class_type": "SpacetimeEmptyVideoLatent",
              "inputs": {"width": width, "height": height, "length": length, "batch_size": 1}},
    }


def sampled(graph, latent=("5", 0), **changes) -> dict:
    inputs = {"dit": ["1", 0], "positive": ["4", 0], "negative": ["4", 1], "latent": list(latent), "seed": 1,
              "steps": 1, "cfg": 1.0, "shift": 8.0, "sampler": "euler", "denoise": 1.0, **changes}
    return graph | {"6": {"class_type": "SpacetimeSampler", "inputs": inputs}}


def decoded(graph, latent=("6", 0)) -> dict:
    return graph | {"7": {"class_type": "SpacetimeDecode", "inputs": {"vae": ["3", 0], "latent": list(latent),
                                                                       "tile_size": 0}}}


def problem_of(host, graph) -> str:
    """What the user is told: the refusal when queued (input checks), or the error the run stopped with."""
    try:
        result = host.run(graph)
    except PromptRefused as refused:
        return json.dumps(refused.body)
    assert result.status == "error", f"ran to {result.status}"
    return result.error["exception_message"]
