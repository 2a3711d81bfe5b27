"""Train the shapes world's SentencePiece tokenizer on captions from both grammars (umT5's special ids).

    .host/venv/bin/python training/build_tokenizer.py     # writes training/runs/text/spiece.model

Its normaliser folds case (SentencePiece's nmt_nfkc_cf), so "A RED CIRCLE" and "a red circle" are the
same pieces: any letter case is a known wording, not unknown pieces. Captions come from the train
wordings of the second-generation grammar (every case, punctuation, background said or not) and the
first generation's paraphrases, so every word either grammar uses is a whole piece.
"""
import io

import numpy as np

from common import RUNS
from spacetime.engine.shapes.captions import caption
from spacetime.engine.shapes.wording import sample_wording, say
from spacetime.engine.shapes.world import sample_spec

VOCAB_SIZE = 320  # whole words for every word of both grammars, plus pieces for other text
CAPTIONS = 30000


def captions(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = []
    for n in range(count):
        spec = sample_spec(rng, ("train", "heldout")[n % 2], 0.35)
        texts.append(caption(spec, rng) if n % 5 == 0 else say(spec, sample_wording(rng, "train")))
    return texts


def train_tokenizer(count: int = CAPTIONS) -> bytes:
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(captions(count)), model_writer=model, model_type="bpe",
        vocab_size=VOCAB_SIZE, hard_vocab_limit=False, character_coverage=1.0,
        normalization_rule_name="nmt_nfkc_cf",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
    return model.getvalue()


def tokenizer_bytes() -> bytes:
    """The tokenizer of this run, trained once and then reused (so resumed training sees the same ids);
    one left by an older recipe (another vocabulary size, no case folding) is trained again."""
    path = RUNS / "text" / "spiece.model"
    if not (path.exists() and is_current(path.read_bytes())):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(train_tokenizer())
    return path.read_bytes()


def is_current(model: bytes) -> bool:
    """Was this tokenizer made by train_tokenizer as it is now?"""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    processor.LoadFromSerializedProto(model)
    return processor.get_piece_size() == VOCAB_SIZE and processor.encode("A Red") == processor.encode("a red")


if __name__ == "__main__":
    print(f"{len(tokenizer_bytes())} bytes at {RUNS / 'text' / 'spiece.model'}")
