"""The DiT trains with the text context's padding read as one row: the same function as 512 rows."""
import copy
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "training"))
from padding_row import read_padding_as_one_row  # noqa: E402
from spacetime.engine.models.dit import DiTConfig, WanDiT  # noqa: E402


def test_one_padding_row_with_its_count_matches_all_the_rows():
    torch.manual_seed(0)
    dit = WanDiT(DiTConfig(dim=64, ffn_dim=128, num_layers=2, num_heads=2, text_dim=32, freq_dim=256),
                 attention_backend="sdpa")
    for parameter in dit.parameters():  # Wan's zero-initialised parts would hide a wrong cross-attention
        torch.nn.init.normal_(parameter, std=0.1)
    caption = torch.randn(2, 7, 32)
    caption[1, 5:] = 0  # a shorter caption: its masked tokens are zero rows too
    x, t = torch.randn(2, 16, 3, 8, 8), torch.tensor([300.0, 800.0])
    expected = dit(x, t, torch.nn.functional.pad(caption, (0, 0, 0, 512 - 7)))

    training = copy.deepcopy(dit)
    read_padding_as_one_row(training, 512 - 7)
    got = training(x, t, torch.nn.functional.pad(caption, (0, 0, 0, 1)))

    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(dit(x, t, torch.nn.functional.pad(caption, (0, 0, 0, 1))), expected, atol=1e-3)
