"""umT5's SentencePiece tokenizer, producing the fixed-length token rows Wan's text encoder reads.

Conventions (those of Wan 2.1 and ComfyUI's native umT5): no start token, end token (EOS) id 1 after
the text, padding id 0 up to 512 tokens, and an attention mask that covers the text and its EOS.
The text is handed to SentencePiece as it is (its own normaliser runs); ComfyUI's "(word:1.2)" weight
syntax is not parsed here, so parentheses stay part of the prompt.
"""
import logging

import torch

EOS_ID = 1
PAD_ID = 0
TEXT_LENGTH = 512

log = logging.getLogger(__name__)


class UMT5Tokenizer:
    """Wraps a SentencePiece processor; build it with `from_bytes` or `from_state_dict`."""

    def __init__(self, processor):
        self.processor = processor

    @classmethod
    def from_bytes(cls, model_bytes: bytes) -> "UMT5Tokenizer":
        import sentencepiece  # only needed once a tokenizer is actually built

        processor = sentencepiece.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(bytes(model_bytes))
        except (RuntimeError, OSError) as error:
            raise ValueError(
                "The umT5 tokenizer data is not a valid SentencePiece model "
                f"({len(model_bytes)} bytes; SentencePiece said: {error}). Load the text encoder file "
                "that ships with its tokenizer, e.g. umt5_xxl_fp8_e4m3fn_scaled.safetensors."
            ) from error
        if processor.eos_id() != EOS_ID:
            raise ValueError(
                f"This SentencePiece model ends text with token {processor.eos_id()}, umT5's uses "
                f"{EOS_ID}: it is not the umT5 tokenizer. Load the text encoder file it came with."
            )
        return cls(processor)

    @classmethod
    def from_state_dict(cls, state_dict: dict) -> "UMT5Tokenizer":
        """Read the tokenizer that ComfyUI's umT5 files carry as the uint8 tensor `spiece_model`."""
        data = state_dict.get("spiece_model")
        if data is None:
            raise ValueError(
                "This text encoder file has no `spiece_model` tensor, so it carries no tokenizer. "
                "Use a ComfyUI umT5 file (models/text_encoders/umt5_xxl_*.safetensors), which includes it."
            )
        return cls.from_bytes(data.cpu().contiguous().numpy().tobytes())

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def token_ids(self, text: str) -> list[int]:
        """The prompt's token ids, without EOS and without any length limit."""
        return self.processor.encode(text, out_type=int)

    def encode(self, texts: list[str], length: int = TEXT_LENGTH) -> tuple[torch.Tensor, torch.Tensor]:
        """Token rows [B, length] (long) and their attention mask [B, length] (bool).

        A prompt longer than `length - 1` tokens keeps its first `length - 1` tokens plus EOS; each
        such cut is logged as a warning naming the prompt and how much of it was dropped.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of prompts; wrap a single prompt as [prompt].")
        tokens = torch.full((len(texts), length), PAD_ID, dtype=torch.long)
        mask = torch.zeros((len(texts), length), dtype=torch.bool)
        for row, text in enumerate(texts):
            ids = self.token_ids(text)
            if len(ids) > length - 1:
                self._warn_truncated(row, ids, length - 1)
                ids = ids[: length - 1]
            ids.append(EOS_ID)
            tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, : len(ids)] = True
        return tokens, mask

    def _warn_truncated(self, row: int, ids: list[int], kept: int) -> None:
        dropped_text = self.processor.decode(ids[kept:])
        log.warning(
            "Prompt %d is %d tokens long; the text encoder reads at most %d, so its last %d tokens "
            "are ignored (they start with: %r). Shorten the prompt to keep them.",
            row, len(ids), kept, len(ids) - kept, dropped_text[:80],
        )
