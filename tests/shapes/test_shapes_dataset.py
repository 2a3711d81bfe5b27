import torch
from torch.utils.data import DataLoader

from spacetime.engine.shapes.captions import caption, parse_caption
from spacetime.engine.shapes.dataset import ShapesClips
from spacetime.engine.shapes.world import sample_specs


def test_items_are_model_ready_clips_with_matching_captions():
    data = ShapesClips(length=8, seed=40, frames=17, size=64)
    for i in range(len(data)):
        clip, text = data[i]
        assert clip.shape == (3, 17, 64, 64) and clip.min() >= -1 and clip.max() <= 1
        assert parse_caption(text) == data.spec(i)


def test_item_i_is_spec_i_of_the_sampler_and_is_reproducible():
    data = ShapesClips(length=6, seed=41, split="heldout", second_object_prob=0.5, paraphrase=False)
    assert [data.spec(i) for i in range(6)] == sample_specs(6, seed=41, split="heldout", second_object_prob=0.5)
    again = ShapesClips(length=6, seed=41, split="heldout", second_object_prob=0.5, paraphrase=False)
    clip, text = data[3]
    assert torch.equal(clip, again[3][0]) and text == caption(data.spec(3))


def test_batches_through_a_dataloader():
    clips, texts = next(iter(DataLoader(ShapesClips(length=4, seed=42, frames=9), batch_size=4)))
    assert clips.shape == (4, 3, 9, 64, 64) and len(texts) == 4
