"""Where a model file the loaders ask for comes from: the last part of the message saying it is missing.

Not a node file and no ComfyUI imports. The Wan 2.1 names are those of Comfy-Org's repackaged files,
the ones core's own Wan workflows and ours ("workflows/Text to video (Wan 2.1).json") use.
"""
WAN21_REPO = "https://huggingface.co/Comfy-Org/Wan_2.1_ComfyUI_repackaged"
WAN21_FILES = {
    "diffusion_models": ("wan2.1_t2v_1.3B_bf16.safetensors", "wan2.1_t2v_1.3B_fp16.safetensors",
                         "wan2.1_t2v_14B_bf16.safetensors", "wan2.1_t2v_14B_fp16.safetensors",
                         "wan2.1_t2v_14B_fp8_e4m3fn.safetensors"),
    "text_encoders": ("umt5_xxl_fp8_e4m3fn_scaled.safetensors", "umt5_xxl_fp16.safetensors"),
    "vae": ("wan_2.1_vae.safetensors",),
}
SHIPPED_PREFIX = "shapes_world_"  # the pack's own model, in its models/ folder


def wan21_url(folder: str, name: str) -> str:
    """The download address of one of Comfy-Org's repackaged Wan 2.1 files."""
    return f"{WAN21_REPO}/resolve/main/split_files/{folder}/{name}"


def source_of(folder: str, name: str) -> str:
    """A sentence saying where to get `name` for ComfyUI's `folder` (diffusion_models, text_encoders, vae)."""
    if name in WAN21_FILES.get(folder, ()):
        return f"download it from {wan21_url(folder, name)}"
    if name.startswith(SHIPPED_PREFIX):
        return f"it ships with the Spacetime pack in its models/{folder}/ folder: reinstall the pack"
    # Any other name may be a file of the user's own; the repackaged folder is where Wan 2.1 files are.
    return f"Wan 2.1 files for this folder are at {WAN21_REPO}/tree/main/split_files/{folder}"
