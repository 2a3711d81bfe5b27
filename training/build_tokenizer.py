"""Train the shapes world's SentencePiece tokenizer on captions from its grammar (umT5's special ids).

    .host/venv/bin/python training/build_tokenizer.py     # writes training/runs/text/spiece.model
"""
import io

import numpy as np

from common import RUNS
from spacetime.engine.shapes.captions import caption
from spacetime.engine.shapes.world import sample_spec

VOCAB_SIZE = 160  # whole words for all 39 words of the grammar, plus pieces for other text
CAPTIONS = 20000


def captions(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [caption(sample_spec(rng, split, 0.3), rng) for split in ("train", "heldout") for _ in range(count // 2)]


def train_tokenizer() -> bytes:
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(captions(CAPTIONS)), model_writer=model, model_type="bpe",
        vocab_size=VOCAB_SIZE, hard_vocab_limit=False, character_coverage=1.0,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
    return model.getvalue()


def tokenizer_bytes() -> bytes:
    """The tokenizer of this run, trained once and then reused (so resumed training sees the same ids)."""
    path = RUNS / "text" / "spiece.model"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(train_tokenizer())
    return path.read_bytes()


if __name__ == "__main__":
    print(f"{len(tokenizer_bytes())} bytes at {RUNS / 'text' / 'spiece.model'}")
