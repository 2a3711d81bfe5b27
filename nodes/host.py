"""ComfyUI services our nodes share: model files, model placement, progress, interrupts, the user and input folders.

Not a node file: the node families import this, never each other.
"""
import logging
import pathlib
from dataclasses import dataclass

import torch
import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import folder_paths

from ..engine.file_hash import file_state
from ..engine.models.block_swap import BlockSwap, blocks_within, device_bytes
from .model_sources import source_of

DTYPES = {"default": None, "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def dtype(name: str) -> torch.dtype | None:
    if name not in DTYPES:
        raise ValueError(f"dtype '{name}' is not one of: {', '.join(DTYPES)}")
    return DTYPES[name]


def model_files(folder: str) -> list[str]:
    """The files ComfyUI lists in one of its model folders (diffusion_models, text_encoders, vae)."""
    return folder_paths.get_filename_list(folder)


def user_directory() -> pathlib.Path:
    """ComfyUI's user directory (ComfyUI/user, or --user-directory): where the pack keeps what users save."""
    return pathlib.Path(folder_paths.get_user_directory())


def output_directory() -> str:
    return folder_paths.get_output_directory()


def save_location(filename_prefix: str, width: int, height: int) -> tuple[str, str, str]:
    """The folder, file name stem and subfolder (of the output folder) core gives `filename_prefix`, its
    %width%-style fields filled in; the folder is created."""
    folder, name, _, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, output_directory(),
                                                                    width, height)
    return folder, name, subfolder


def add_model_folder(kind: str, path: str) -> None:
    """List the files in `path` among ComfyUI's `kind` model files (diffusion_models, vae, ...)."""
    folder_paths.add_model_folder_path(kind, path)


def input_directory() -> str:
    """ComfyUI's input folder (uploads land there): where the pack's nodes read videos from."""
    return folder_paths.get_input_directory()


def model_file_path(folder: str, name: str) -> str | None:
    """The full path of a file in one of ComfyUI's model folders, or None when it is not there."""
    return folder_paths.get_full_path(folder, name)


def missing_model(folder: str, name: str | None) -> str | None:
    """What to tell the user when `name` is not a file of ComfyUI's `folder`: the folder's paths, the
    files there and where the file comes from; None when it is there (or not known yet: a linked input)."""
    if name is None or folder_paths.get_full_path(folder, name) is not None:
        return None
    paths = ", ".join(folder_paths.get_folder_paths(folder))
    found = model_files(folder)
    listed = ", ".join(found[:8]) or "none"
    if len(found) > 8:
        listed += f" and {len(found) - 8} more"
    return (f"model file '{name}' was not found in the '{folder}' folders ({paths}); files there: {listed}; "
            f"{source_of(folder, name)}")


def model_path(folder: str, name: str) -> str:
    problem = missing_model(folder, name or "")
    if problem:
        raise FileNotFoundError(problem)
    return folder_paths.get_full_path(folder, name)


@dataclass
class PlacedModel:
    """A pure-torch model handed to ComfyUI's memory manager (moved to the GPU when used, offloaded after)."""

    patcher: comfy.model_patcher.ModelPatcher
    blocks_on_device: int | None = None  # a DiT's block swap: at most this many blocks on the device
    swap: BlockSwap | None = None

    @property
    def module(self) -> torch.nn.Module:
        return self.patcher.model

    @property
    def device(self) -> torch.device:
        return self.patcher.load_device

    def load(self, working_memory: int = 0) -> torch.nn.Module:
        """Ask ComfyUI to make room (for the weights and `working_memory` bytes besides, unloading other
        models as needed) and put the weights on the compute device; returns the module."""
        if self.blocks_on_device is not None:
            return self._load_swapped(working_memory)
        # Fully: our modules are plain torch, so a partial load would leave layers on the offload device.
        mm.load_models_gpu([self.patcher], memory_required=working_memory, force_full_load=True)
        return self.patcher.model

    def _load_swapped(self, working_memory: int) -> torch.nn.Module:
        """Block swap: ComfyUI frees room (unloading other models) for the DiT's weights that stay on the
        device plus the working memory, then the engine places them: as many of `blocks_on_device` blocks
        as the free memory holds, the others streamed in per call. Core does not count these weights."""
        module, device = self.patcher.model, self.device
        wanted = min(self.blocks_on_device, len(module.blocks))
        mm.free_memory(device_bytes(module, wanted) + working_memory, device)
        placed = self.swap.on_device if self.swap else 0
        try:
            resident = min(wanted, blocks_within(module, mm.get_free_memory(device) + placed - working_memory))
        except ValueError as error:
            raise ValueError(f"Block swap: {error} Free memory on {device}, or sample a smaller clip.") from None
        if self.swap is None or self.swap.resident != resident:
            if self.swap:
                self.swap.remove()
            self.swap = BlockSwap(module, device, resident, self.patcher.offload_device)
            logging.info("Spacetime block swap: %d of %d DiT blocks on %s, the rest streamed in per step.",
                         resident, len(module.blocks), device)
        return module


_cache: dict[str, tuple[tuple, object]] = {}


def cached(kind: str, path: str, options: tuple, build):
    """One loaded model per kind, reused while the file (file_state: not replaced nor rewritten) and the
    options stay the same."""
    key = (file_state(path), options)
    if kind in _cache and _cache[kind][0] == key:
        return _cache[kind][1]
    _cache.pop(kind, None)  # drop the old model before loading the next
    loaded = build()
    _cache[kind] = (key, loaded)
    return loaded


def place(module: torch.nn.Module, devices, blocks_on_device: int | None = None) -> PlacedModel:
    # ModelPatcher, not CoreModelPatcher: with dynamic VRAM on (newer core, NVIDIA), CoreModelPatcher
    # becomes a patcher that streams weights through core's own cast-aware layers, which our plain torch
    # modules do not have. Core keeps ModelPatcher for such models itself, beside its dynamic ones.
    load_device, offload_device = devices
    patcher = comfy.model_patcher.ModelPatcher(module, load_device=load_device, offload_device=offload_device)
    return PlacedModel(patcher, blocks_on_device)


def dit_devices():
    return mm.get_torch_device(), mm.unet_offload_device()


def text_encoder_devices():
    return mm.text_encoder_device(), mm.text_encoder_offload_device()


def vae_devices():
    return mm.vae_device(), mm.vae_offload_device()


def progress_reporter(total: int):
    """`report(done, preview=None)`: the running node's progress bar (with an optional preview image),
    and a prompt stop on interrupt."""
    bar = comfy.utils.ProgressBar(total)

    def report(done: int, preview=None) -> None:
        mm.throw_exception_if_processing_interrupted()
        bar.update_absolute(done, total, preview)

    return report


def step_reporter(total: int, preview=None):
    """A sampler callback `(step, x, x0)` reporting through progress_reporter, previewing x0."""
    report = progress_reporter(total)
    return lambda step, x, x0: report(step + 1, preview(x0) if preview else None)


def core_wan21_preview() -> dict | None:
    """The latent→RGB factors this host's core previews Wan 2.1 latents with, and the model space they act
    on: `factors` [16, 3] and `bias` [3] (RGB in −1..1 from x = (raw − mean) · scale / std), `mean`, `std`,
    `scale`. Read at run time, never copied; None on a host without them (the preview keeps false colour)."""
    try:
        from comfy.latent_formats import Wan21

        wan21 = Wan21()
        if wan21.latent_rgb_factors is None or wan21.latent_rgb_factors_bias is None or \
                getattr(wan21, "latent_rgb_factors_reshape", None) is not None:
            return None
        found = {"factors": torch.tensor(wan21.latent_rgb_factors, dtype=torch.float32),
                 "bias": torch.tensor(wan21.latent_rgb_factors_bias, dtype=torch.float32),
                 "mean": wan21.latents_mean, "std": wan21.latents_std, "scale": float(wan21.scale_factor)}
    except (ImportError, AttributeError, TypeError, ValueError):  # a host whose Wan21 has moved on
        return None
    return found if found["factors"].shape == (16, 3) and found["bias"].shape == (3,) else None


def check_interrupt() -> None:
    mm.throw_exception_if_processing_interrupted()


def free_memory(device: torch.device) -> int:
    """Bytes free on `device` as ComfyUI counts them (free device memory plus torch's unused cache; RAM on the CPU)."""
    return mm.get_free_memory(device)


def intermediate_device() -> torch.device:
    return mm.intermediate_device()
