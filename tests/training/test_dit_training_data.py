"""What the DiT trainer feeds the model: captions worded anew, per-segment weights, noise levels with known
frames as the editing features hold them, a carried embedding."""
import pathlib
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "training"))
from build_tokenizer import is_current, train_tokenizer  # noqa: E402
from common import Run  # noqa: E402
from train_dit import (carry_embedding, describe, flow_loss, known_frames, noise_levels, refuse_other_inputs,  # noqa: E402
                       segment_weights)

from spacetime.engine.models.tokenizer import UMT5Tokenizer  # noqa: E402
from spacetime.engine.shapes.captions import parse_caption  # noqa: E402
from spacetime.engine.shapes.changes import sample_change  # noqa: E402
from spacetime.engine.shapes.wording import read_caption  # noqa: E402
from spacetime.engine.shapes.world import ClipSpec, sample_spec  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer_model() -> bytes:
    return train_tokenizer(count=3000)  # fewer captions than a run's, still every word many times


def test_each_segment_gets_a_caption_that_reads_back_as_it_in_one_wording():
    rng = np.random.default_rng(2)
    for _ in range(60):
        spec = sample_spec(rng, "train", 0.4)
        segments = sample_change(rng, spec, 17) if rng.random() < 0.5 else ((spec, 0),)
        texts = describe(segments, rng)
        assert len(texts) == len(segments)
        for text, (expected, _) in zip(texts, segments):
            read = parse_caption(text) if _first_grammar(text, expected) else read_caption(text)
            assert read.objects == expected.objects and read.background in (None, expected.background)


def test_single_clips_are_sometimes_said_in_the_first_grammar_and_captions_vary():
    rng = np.random.default_rng(3)
    spec = sample_spec(rng, "train")
    texts = [describe(((spec, 0),), rng)[0] for _ in range(200)]
    assert len(set(texts)) > 50
    first_grammar = [t for t in texts if _first_grammar(t, spec)]
    assert 20 <= len(first_grammar) <= 70


def _first_grammar(text: str, spec: ClipSpec) -> bool:
    try:
        return parse_caption(text) == ClipSpec(spec.background, spec.objects) and text == text.lower() \
            and not text.endswith((".", "!"))
    except ValueError:
        return False


def test_segment_weights_are_one_hot_by_the_latent_frame_each_segment_starts():
    spec = sample_spec(np.random.default_rng(0))
    weights = segment_weights(((spec, 0), (spec, 9)), 5)  # pixel frame 9 begins latent frame 3
    assert torch.equal(weights, torch.tensor([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]], dtype=torch.float32))
    assert torch.equal(segment_weights(((spec, 0),), 5), torch.ones(5, 1))


def test_the_tokenizer_folds_case_and_knows_every_word_of_held_out_wordings(tokenizer_model):
    from spacetime.engine.shapes.wording import sample_wording, say

    tokenizer = UMT5Tokenizer.from_bytes(tokenizer_model)
    ids = tokenizer.processor.encode
    assert ids("A RED CIRCLE MOVES LEFT ON A BLUE BACKGROUND") == ids("a red circle moves left on a blue background")
    rng = np.random.default_rng(4)
    for _ in range(300):
        text = say(sample_spec(rng, "heldout", 0.4), sample_wording(rng, "heldout"))
        assert 2 not in ids(text), text  # no unknown piece


def first_generation_tokenizer() -> bytes:
    """A tokenizer as the first generation built it (its grammar's captions only, 160 pieces, no case folding):
    other pieces at other ids than the second's."""
    import io

    import sentencepiece

    from spacetime.engine.shapes.captions import caption

    rng, model = np.random.default_rng(1), io.BytesIO()
    texts = [caption(sample_spec(rng, ("train", "heldout")[n % 2], 0.3), rng) for n in range(3000)]
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="bpe", vocab_size=160, hard_vocab_limit=False,
        character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
    return model.getvalue()


def test_a_carried_embedding_gives_each_word_the_old_row_of_the_same_word(tokenizer_model):
    old_model = first_generation_tokenizer()
    old_tokenizer, tokenizer = UMT5Tokenizer.from_bytes(old_model), UMT5Tokenizer.from_bytes(tokenizer_model)
    old = torch.randn((old_tokenizer.vocab_size + 63) // 64 * 64, 8)
    vocab = (tokenizer.vocab_size + 63) // 64 * 64
    new = carry_embedding(old, old_model, tokenizer, vocab)
    assert new.shape == (vocab, 8) and torch.equal(new[:3], old[:3])  # padding, end, unknown

    old_words = {old_tokenizer.processor.id_to_piece(i): i for i in range(3, old_tokenizer.vocab_size)}
    pieces = {tokenizer.processor.id_to_piece(i): i for i in range(3, tokenizer.vocab_size)}
    shared = [(i, old_words[p]) for p, i in pieces.items() if p.startswith("\u2581") and len(p) > 1 and p in old_words]
    assert len(shared) > 30 and sum(i != j for i, j in shared) > 10  # the same words at other ids: carried by text
    assert all(torch.equal(new[i], old[j]) for i, j in shared)
    # A word only the new grammar has starts as the mean of the old pieces its text is made of.
    word = pieces["\u2581lozenge"]
    assert "\u2581lozenge" not in old_words
    assert torch.allclose(new[word], old[old_tokenizer.processor.encode(" lozenge")].mean(dim=0))


def test_the_run_clock_counts_minutes_of_earlier_processes(tmp_path, monkeypatch):
    import common

    monkeypatch.setattr(common, "RUNS", tmp_path)
    run = Run("clock")
    run.resume_clock(12.5)
    assert 12.5 <= run.elapsed_minutes() < 12.6


def test_a_tokenizer_of_an_older_recipe_is_not_reused(tokenizer_model):
    assert not is_current(first_generation_tokenizer())
    assert is_current(tokenizer_model)  # the recipe as it stands


def test_a_checkpoint_resumes_only_with_its_tokenizer_and_latents(tmp_path, monkeypatch):
    import hashlib

    import common

    monkeypatch.setattr(common, "RUNS", tmp_path)
    run = Run("dit")
    saved = {"tokenizer_sha256": hashlib.sha256(b"pieces").hexdigest(), "vae_steps": "7937"}
    refuse_other_inputs(saved, run, b"pieces", "7937")
    refuse_other_inputs({}, run, b"pieces", "7937")  # checkpoints from before the record: trusted
    with pytest.raises(SystemExit, match="another tokenizer .*move the checkpoint away"):
        refuse_other_inputs(saved, run, b"other pieces", "7937")
    with pytest.raises(SystemExit, match=r"another VAE encoder \(encoder_steps\) \(7937 against now 8000"):
        refuse_other_inputs(saved, run, b"pieces", "8000")


def test_known_frames_are_laid_out_as_the_editing_features_hold_them():
    generator = torch.Generator().manual_seed(0)
    layouts = set()
    for _ in range(400):
        known = known_frames(5, generator)
        assert 1 <= int(known.sum()) <= 4  # something known, something to generate
        runs = torch.diff(known.int(), prepend=torch.zeros(1, dtype=torch.int32)).eq(1).sum()
        starts, ends = bool(known[0]), bool(known[-1])
        assert runs == 1 or (runs == 2 and starts and ends)  # one block, or both ends (a loop, a transition)
        layouts.add("both" if runs == 2 else "start" if starts else "end" if ends else "inside")
    assert layouts == {"start", "end", "both", "inside"}


def test_noise_levels_mix_one_level_per_clip_per_frame_levels_and_known_frames():
    sigma = noise_levels(4000, 5, torch.Generator().manual_seed(1))
    clean = sigma.eq(0)
    known = clean.any(1)
    shared = sigma.max(1).values - torch.where(clean, 2.0, sigma).min(1).values < 1e-6
    assert 0.17 < known.float().mean() < 0.23
    assert bool(shared[known].all())  # what is not known shares one level, as the sampler runs an edit
    assert 0.45 < (shared & ~known).float().mean() < 0.55
    assert torch.equal(noise_levels(8, 1, torch.Generator().manual_seed(2)).eq(0), torch.zeros(8, 1, dtype=torch.bool))


def test_the_flow_loss_leaves_clean_frames_out():
    target = torch.zeros(1, 2, 3, 2, 2)
    velocity = target.clone()
    velocity[:, :, 0] = 5.0  # wrong only on the clean frame
    sigma = torch.tensor([[0.0, 0.4, 0.9]])
    assert flow_loss(velocity, target, sigma).item() == 0.0
    velocity[:, :, 2] = 1.0
    assert flow_loss(velocity, target, sigma).item() == pytest.approx(0.5)
