import pytest
import torch

from spacetime.engine.frame_mask import keep_from_mask


def test_latent_frame_mask_is_inverted_per_frame():
    mask = torch.tensor([0.0, 1.0, 1.0])[:, None, None].expand(3, 4, 4)
    assert keep_from_mask(mask, 3).tolist() == [1.0, 0.0, 0.0]


def test_video_frame_mask_maps_to_latent_frames():
    generate = torch.zeros(9)
    generate[6] = 1  # one video frame of latent frame 2 (video frames 5..8) is to be generated
    assert keep_from_mask(generate, 3).tolist() == [1.0, 1.0, 0.0]


def test_wrong_frame_count_says_what_fits():
    with pytest.raises(ValueError, match="6 frames but the latent has 3 latent frames \\(9 video frames\\)"):
        keep_from_mask(torch.ones(6, 2, 2), 3)
    with pytest.raises(ValueError, match="must be \\[frames, height, width\\]"):
        keep_from_mask(torch.ones(1, 3, 2, 2), 3)


def test_core_noise_mask_layout_is_accepted():
    mask = torch.tensor([1.0, 0.0, 1.0])[:, None, None, None].expand(3, 1, 4, 4)  # SetLatentNoiseMask's [F, 1, H, W]
    assert keep_from_mask(mask, 3).tolist() == [0.0, 1.0, 0.0]


def test_mask_varying_within_a_frame_is_refused():
    mask = torch.zeros(3, 4, 4)
    mask[1, :2] = 1
    with pytest.raises(ValueError, match="varies within frames"):
        keep_from_mask(mask, 3)


def test_nan_in_a_mask_is_refused_by_its_name():
    with pytest.raises(ValueError, match="the latent's noise_mask holds 3 NaN values"):
        keep_from_mask(torch.full((3,), float("nan")), 3, "the latent's noise_mask")


def test_video_layout_is_read_per_frame_and_a_batch_must_agree():
    generate = torch.tensor([0.0, 0.0, 1.0])[None, None, :, None, None].expand(2, 1, 3, 4, 4)  # [B, 1, T, h, w]
    assert keep_from_mask(generate, 3).tolist() == [1.0, 1.0, 0.0]
    differing = generate.clone()
    differing[1, 0, 0] = 1
    with pytest.raises(ValueError, match="keeps different frames in different batch items"):
        keep_from_mask(differing, 3)
