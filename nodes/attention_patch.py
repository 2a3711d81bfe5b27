"""Patch Attention: a core MODEL (e.g. Wan loaded by core's Load Diffusion Model) runs its attention on
the pack's attention backends, through core's optimized_attention_override hook."""
import logging

from comfy_api.latest import io

from ..kernels import BACKEND_NAMES, BackendUnavailable, require_backend
from ..kernels.core_convention import core_override
from .validation import checked, choice_problem

LOG = logging.getLogger("spacetime.attention")
# Checked before sampling when the model does not say its head size (Wan does); calls with another
# head size are checked again at their first call.
USUAL_HEAD_DIM = 128


class PatchAttention(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimePatchAttention",
            display_name="Patch Attention (Spacetime)",
            category="Spacetime",
            description="Runs a core model's attention (e.g. Wan 2.1 from Load Diffusion Model) on Spacetime's "
            "attention backends. Put it between the model loader and the sampler.",
            inputs=[
                io.Model.Input("model", tooltip="A core MODEL (e.g. Wan 2.1 from Load Diffusion Model)."),
                io.Combo.Input("backend", options=list(BACKEND_NAMES), default="auto",
                               tooltip="Attention backend; the one actually used is logged once. Calls with "
                               "masks it cannot take keep core's attention (also logged once)."),
            ],
            outputs=[io.Model.Output(tooltip="The same model, its attention on the chosen backend; for core samplers.")],
        )

    @classmethod
    def validate_inputs(cls, backend):
        return checked(choice_problem("backend", backend, BACKEND_NAMES))

    @classmethod
    def execute(cls, model, backend) -> io.NodeOutput:
        caller = f"core-{type(model.model.diffusion_model).__name__}"
        refuse_early(model, backend, caller)
        patched = model.clone()
        options = patched.model_options.setdefault("transformer_options", {})
        if "optimized_attention_override" in options:
            LOG.warning("%s: Patch Attention replaces the attention override an earlier node set", caller)
        options["optimized_attention_override"] = core_override(backend, caller)
        return io.NodeOutput(patched)


def refuse_early(model, backend: str, caller: str) -> None:
    """Raise here, naming the backend and the model, rather than deep inside the sampler's first step."""
    base = model.model
    dtype = base.manual_cast_dtype or base.get_dtype()  # what the model computes in (fp8 files: manual cast)
    net = base.diffusion_model
    heads, dim = getattr(net, "num_heads", None), getattr(net, "dim", None)
    head_dim = dim // heads if isinstance(heads, int) and isinstance(dim, int) else USUAL_HEAD_DIM
    try:
        require_backend(backend, model.load_device, dtype, head_dim)
    except BackendUnavailable as error:
        raise BackendUnavailable(f"attention backend '{backend}' cannot run {caller} ({dtype}, head_dim {head_dim}) "
                                 f"on {model.load_device}: {error}") from None


NODES = [PatchAttention]
