"""Training-time cross-attention that reads the text context's padding as one row.

Inference, like Wan, pads the text context with zero rows to 512 and attends over all of them; the
shapes world's captions fill under 32. Every padding row gives the same key and value, and softmax over
n copies of a key is softmax over one copy with log(n) added to its logit. So the DiT trains on
[caption rows; one zero row] with that bias: the same function as at inference, and 2.1× faster
training steps (batch 64, one CPU core: 1.57 s against 3.3 s); the padding rows were most of the
cross-attention's work.
"""
import math
import types

import torch
import torch.nn.functional as F


def read_padding_as_one_row(dit, padding_rows: int) -> None:
    """Make every cross-attention of `dit` (in place) take its context's last row as `padding_rows` rows."""
    for block in dit.blocks:
        block.cross_attn.forward = types.MethodType(_forward_for(padding_rows), block.cross_attn)


def _forward_for(padding_rows: int):
    def forward(attention, x, context, rope=None, backend="auto"):
        dtype = attention.q.weight.dtype
        x, context = x.to(dtype), context.to(dtype)
        heads = attention.num_heads
        q = attention.norm_q(attention.q(x)).unflatten(2, (heads, -1)).transpose(1, 2)
        k = attention.norm_k(attention.k(context)).unflatten(2, (heads, -1)).transpose(1, 2)
        v = attention.v(context).unflatten(2, (heads, -1)).transpose(1, 2)
        bias = torch.zeros(1, k.shape[2], dtype=q.dtype, device=q.device)
        bias[:, -1] = math.log(padding_rows)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return attention.o(out.transpose(1, 2).flatten(2))

    return forward
