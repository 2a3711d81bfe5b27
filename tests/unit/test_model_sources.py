"""Where the missing-model message says a file comes from."""
from spacetime.nodes.model_sources import WAN21_REPO, source_of


def test_a_repackaged_wan_file_gets_its_download_link():
    assert source_of("text_encoders", "umt5_xxl_fp16.safetensors") == \
        f"download it from {WAN21_REPO}/resolve/main/split_files/text_encoders/umt5_xxl_fp16.safetensors"


def test_a_shipped_file_points_at_the_pack():
    assert "ships with the Spacetime pack in its models/vae/ folder" in source_of("vae", "shapes_world_vae.safetensors")


def test_any_other_name_points_at_the_repackaged_folder():
    assert source_of("diffusion_models", "my_finetune.safetensors") == \
        f"Wan 2.1 files for this folder are at {WAN21_REPO}/tree/main/split_files/diffusion_models"
