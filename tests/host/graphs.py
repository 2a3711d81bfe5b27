"""Small helpers for editing API-format graphs in host tests."""
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
