"""Loaders for the DiT, the text encoder and the VAE, reading the files in ComfyUI's model folders."""
from dataclasses import dataclass

from comfy_api.latest import io

from ..engine.file_hash import file_state
from ..engine.models.checkpoint import load_dit, load_text_encoder, load_vae
from ..engine.models.dit import MAX_LAYERS
from ..engine.models.fp8_linear import compute_dtype
from ..engine.models.tokenizer import UMT5Tokenizer
from ..engine.parallel.workers import ModelFile
from ..kernels import BACKEND_NAMES, BackendUnavailable, require_backend
from . import host
from .types import DiT, TextEncoder, VAE
from .validation import checked, choice_problem

DTYPE_CHOICES = list(host.DTYPES)


class LoadDiT(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeLoadDiT",
            display_name="Load Wan DiT (Spacetime)",
            category="Spacetime",
            description="A Wan 2.1 text-to-video diffusion model (1.3B or 14B; bf16, fp16, fp32 or fp8 files) "
            "from models/diffusion_models.",
            inputs=[
                io.Combo.Input("dit_name", options=host.model_files("diffusion_models"),
                               tooltip="A file in models/diffusion_models, e.g. wan2.1_t2v_1.3B_bf16.safetensors "
                               "(Comfy-Org/Wan_2.1_ComfyUI_repackaged) or the pack's shapes_world model."),
                io.Combo.Input("dtype", options=DTYPE_CHOICES, default="default",
                               tooltip="Compute dtype; default keeps the file's (bf16 for fp8 files)."),
                io.Combo.Input("attention", options=list(BACKEND_NAMES), default="auto",
                               tooltip="Attention backend; the one actually used is logged once."),
                io.Int.Input("blocks_on_device", default=-1, min=-1, max=MAX_LAYERS, optional=True,
                             tooltip="Block swap, for a card the model does not fit: -1 (default) puts the whole "
                             "model on the GPU; N keeps at most N of its transformer blocks there (fewer if "
                             "free memory holds fewer) and streams the others in at every step, slower the "
                             "fewer stay (1.3B has 30 blocks, 14B 40)."),
            ],
            outputs=[DiT.Output(display_name="dit", tooltip="The loaded video model, for the Sampler and Remix.")],
        )

    @classmethod
    def validate_inputs(cls, dit_name, dtype, attention, blocks_on_device=-1):
        # Named here, so core leaves its range to us.
        swap = None if blocks_on_device is None or -1 <= blocks_on_device <= MAX_LAYERS else (
            f"blocks_on_device must be -1 (the whole model on the device) or 0 to {MAX_LAYERS}, not {blocks_on_device}")
        return checked(host.missing_model("diffusion_models", dit_name),
                       choice_problem("dtype", dtype, DTYPE_CHOICES),
                       choice_problem("attention", attention, BACKEND_NAMES), swap)

    @classmethod
    def fingerprint_inputs(cls, dit_name, **_):
        return file_state(host.model_path("diffusion_models", dit_name))  # a replaced file is loaded again

    @classmethod
    def execute(cls, dit_name, dtype, attention, blocks_on_device=-1) -> io.NodeOutput:
        path = host.model_path("diffusion_models", dit_name)

        def build():
            model = load_dit(path, dtype=host.dtype(dtype))
            model.attention_backend = attention
            model.file = ModelFile(path, host.dtype(dtype))  # for worker processes to load it again (Parallel Devices)
            return host.place(model, host.dit_devices(), None if blocks_on_device < 0 else blocks_on_device)

        dit = host.cached("dit", path, (dtype, attention, blocks_on_device), build)
        module = dit.module
        try:  # here, where the option is set, rather than at the sampler's first step
            require_backend(attention, dit.device, compute_dtype(module.blocks[0].ffn[0]), module.config.head_dim)
        except BackendUnavailable as error:
            raise BackendUnavailable(f"Load DiT's attention '{attention}' cannot run here: {error}") from None
        return io.NodeOutput(dit)


@dataclass
class LoadedTextEncoder:
    encoder: host.PlacedModel
    tokenizer: UMT5Tokenizer


class LoadTextEncoder(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeLoadTextEncoder",
            display_name="Load umT5 Text Encoder (Spacetime)",
            category="Spacetime",
            description="The umT5-XXL text encoder Wan 2.1 uses (with its tokenizer) from models/text_encoders.",
            inputs=[
                io.Combo.Input("text_encoder_name", options=host.model_files("text_encoders"),
                               tooltip="A umT5-XXL file in models/text_encoders, e.g. "
                               "umt5_xxl_fp8_e4m3fn_scaled.safetensors (or the pack's shapes_world encoder)."),
                io.Combo.Input("dtype", options=DTYPE_CHOICES, default="default",
                               tooltip="Compute dtype; default keeps the file's (bf16 for fp8 files)."),
            ],
            outputs=[TextEncoder.Output(display_name="text_encoder",
                                        tooltip="The loaded text encoder, for Text Encode and Storyboard.")],
        )

    @classmethod
    def validate_inputs(cls, text_encoder_name, dtype):
        return checked(host.missing_model("text_encoders", text_encoder_name),
                       choice_problem("dtype", dtype, DTYPE_CHOICES))

    @classmethod
    def fingerprint_inputs(cls, text_encoder_name, **_):
        return file_state(host.model_path("text_encoders", text_encoder_name))  # a replaced file is loaded again

    @classmethod
    def execute(cls, text_encoder_name, dtype) -> io.NodeOutput:
        path = host.model_path("text_encoders", text_encoder_name)

        def build():
            encoder, tokenizer = load_text_encoder(path, dtype=host.dtype(dtype))
            return LoadedTextEncoder(host.place(encoder, host.text_encoder_devices()), tokenizer)

        return io.NodeOutput(host.cached("text_encoder", path, (dtype,), build))


class LoadVAE(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeLoadVAE",
            display_name="Load Wan VAE (Spacetime)",
            category="Spacetime",
            description="The Wan 2.1 video VAE from models/vae.",
            inputs=[
                io.Combo.Input("vae_name", options=host.model_files("vae"),
                               tooltip="The Wan 2.1 VAE in models/vae: wan_2.1_vae.safetensors (or the pack's "
                               "shapes_world VAE)."),
                io.Combo.Input("dtype", options=DTYPE_CHOICES, default="default",
                               tooltip="Compute dtype; default keeps the file's."),
            ],
            outputs=[VAE.Output(display_name="vae", tooltip="The loaded video VAE, for Decode, Encode and the edit nodes.")],
        )

    @classmethod
    def validate_inputs(cls, vae_name, dtype):
        return checked(host.missing_model("vae", vae_name), choice_problem("dtype", dtype, DTYPE_CHOICES))

    @classmethod
    def fingerprint_inputs(cls, vae_name, **_):
        return file_state(host.model_path("vae", vae_name))  # a replaced file is loaded again

    @classmethod
    def execute(cls, vae_name, dtype) -> io.NodeOutput:
        path = host.model_path("vae", vae_name)

        def build():
            return host.place(load_vae(path, dtype=host.dtype(dtype)), host.vae_devices())

        return io.NodeOutput(host.cached("vae", path, (dtype,), build))


NODES = [LoadDiT, LoadTextEncoder, LoadVAE]
