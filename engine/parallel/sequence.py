"""Sequence parallelism for the DiT: each rank holds a slice of the video's tokens through every block.

Given to the DiT (`WanDiT.forward(..., parallel=ctx)`, or `with dit.parallel(ctx):` around any plan), a
`SequenceParallel` context makes every rank of its process group run the same call on its own slice:
the token sequence is padded to a multiple of the world size and rank r takes the r-th contiguous
chunk; per-frame modulation rows and prompt weights follow their tokens; only self-attention
communicates; the head's output is gathered so every rank returns the whole result.

Self-attention, for a layout of U (Ulysses) × R (ring) ranks, rank r = ring index · U + Ulysses index:
- Ulysses: one all-to-all over the U ranks of a ring index trades "my tokens, all heads" for "the U
  ranks' tokens, my H/U heads", and one after the attention trades back. With R = 1 that is the whole
  sequence: the padding is cut off and the pack's `attention` runs exactly as on one device (RoPE fused
  into the Triton kernel on GPU).
- Ring (R > 1): each rank keeps its block of queries while the R blocks of keys and values travel round
  the ring (the next one in flight while one is attended); the blocks' partial results are merged by
  their log-sum-exp, which `attention(..., return_lse=True)` returns. RoPE is applied once per block
  (computed for the whole grid, sliced to the block's positions) and padding keys are masked out.
Cross-attention, the FFN and the modulation are per token and need no communication.

Why torch's own collectives and not yunchang: yunchang's Ulysses is a reshape around the same
`torch.distributed.all_to_all_single` used here, and its attention calls pick among third-party kernels
(flash-attn, SageAttention, SDPA — whose math path returns a zero log-sum-exp, which silently breaks ring
merging) that take neither Wan's RoPE nor a key mask, so they could not run the pack's fused kernel or
keep padding out. It would add a dependency for ten lines of reshaping.
"""
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ...kernels import RopeGrid, apply_rope, attention
from .layout import ParallelLayout


class SequenceParallel:
    """A process group (default: the whole world) split as `layout`; every rank builds one, together.

    Construction creates the Ulysses subgroups, a collective call: all ranks of the group (and only they)
    must make it, in the same order. The group's size must be the layout's world size; a layout with a
    CFG split is the business of guidance.py, which gives each half its own group.
    """

    def __init__(self, layout: ParallelLayout, group: dist.ProcessGroup | None = None):
        if layout.cfg != 1:
            raise ValueError(f"SequenceParallel shares one DiT call; the layout {layout} splits CFG too: give it "
                             f"layout.sequence and one half's group (engine.parallel.guidance.parallel_contexts).")
        self.layout = layout
        self.group = group if group is not None else dist.group.WORLD
        world = dist.get_world_size(self.group)
        if world != layout.world_size:
            raise ValueError(f"the layout {layout} needs {layout.world_size} ranks; this process group has {world}.")
        self.rank = dist.get_rank(self.group)
        self.ranks = dist.get_process_group_ranks(self.group)  # global ranks, in group order
        self.ulysses_index, self.ring_index = self.rank % layout.ulysses, self.rank // layout.ulysses
        self.ulysses_group = self._ulysses_group()

    def _ulysses_group(self):
        layout = self.layout
        if layout.ulysses == 1:
            return None
        if layout.ring == 1:
            return self.group
        # Local synchronisation: only the subgroup's own ranks take part in making it (the rest of this
        # group makes theirs meanwhile, and the other CFG half its own).
        members = self.ranks[self.ring_index * layout.ulysses:(self.ring_index + 1) * layout.ulysses]
        return dist.new_group(members, use_local_synchronization=True)

    def shard(self, grid: RopeGrid) -> "TokenShard":
        """This rank's slice of a forward pass over `grid`'s tokens."""
        return TokenShard(self, grid)


@dataclass
class TokenShard:
    """This rank's contiguous chunk of one forward pass's (padded) token sequence, and its attention."""

    context: SequenceParallel
    grid: RopeGrid

    def __post_init__(self):
        world = self.context.layout.world_size
        self.padded = -(-self.grid.tokens // world) * world
        self.size = self.padded // world
        self.start = self.context.rank * self.size

    def split(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, N, ...] for all N tokens -> [B, n, ...] for this rank's (padding rows are zeros)."""
        padded = torch.nn.functional.pad(tokens, (0, 0) * (tokens.ndim - 2) + (0, self.padded - tokens.shape[1]))
        return padded[:, self.start:self.start + self.size]

    def per_token(self, rows: torch.Tensor | None) -> torch.Tensor | None:
        """Per-frame rows [B, T, ...] -> one per local token [B, n, ...]; [B, 1, ...] (uniform) as it is.

        A copy per token (for the modulation e0, six times the size of the shard's residual stream): a
        shard may start and end mid-frame, so its tokens no longer fall in whole frames."""
        if rows is None or rows.shape[1] == 1:
            return rows
        positions = torch.arange(self.start, self.start + self.size, device=rows.device)
        frame = (positions // (self.grid.height * self.grid.width)).clamp_max(self.grid.frames - 1)  # padding: last
        return rows[:, frame]

    def gather(self, local: torch.Tensor) -> torch.Tensor:
        """[B, n, C] from every rank -> [B, N, C] on every rank (padding dropped)."""
        chunks = [torch.empty_like(local) for _ in range(self.context.layout.world_size)]
        dist.all_gather(chunks, local.contiguous(), group=self.context.group)
        return torch.cat(chunks, dim=1)[:, :self.grid.tokens]

    def self_attention(self, q, k, v, *, rope: RopeGrid, backend: str, caller: str) -> torch.Tensor:
        """Attention of this rank's queries [B, n, H, D] over the whole sequence's keys; result [B, n, H, D]."""
        q, k, v = self._heads_to_tokens(q, k, v)  # [B, U·n, H/U, D]: this ring index's block of tokens
        if self.context.layout.ring == 1:
            real = rope.tokens
            out = attention(q[:, :real], k[:, :real], v[:, :real], rope=rope, backend=backend, caller=caller)
            out = torch.nn.functional.pad(out, (0, 0, 0, 0, 0, q.shape[1] - real))
        else:
            out = self._ring_attention(q, k, v, backend, caller)
        return self._tokens_to_heads(out)

    def _heads_to_tokens(self, q, k, v):
        """All-to-all over the Ulysses group: send head group u of my tokens to Ulysses rank u."""
        ulysses = self.context.layout.ulysses
        if ulysses == 1:
            return q, k, v
        send = torch.stack((q, k, v)).unflatten(3, (ulysses, -1)).permute(3, 0, 1, 2, 4, 5).contiguous()
        received = torch.empty_like(send)  # [U (source rank), 3, B, n, H/U, D]
        dist.all_to_all_single(received, send, group=self.context.ulysses_group)
        return received.permute(1, 2, 0, 3, 4, 5).flatten(2, 3).unbind(0)

    def _tokens_to_heads(self, out):
        """The inverse all-to-all: [B, U·n, H/U, D] -> [B, n, H, D]."""
        ulysses = self.context.layout.ulysses
        if ulysses == 1:
            return out
        send = out.unflatten(1, (ulysses, -1)).transpose(0, 1).contiguous()  # [U (destination), B, n, H/U, D]
        received = torch.empty_like(send)
        dist.all_to_all_single(received, send, group=self.context.ulysses_group)
        return received.permute(1, 2, 0, 3, 4).flatten(2, 3)

    def _ring_attention(self, q, k, v, backend: str, caller: str):
        """Attention of my block of queries over every ring block of keys, merged by log-sum-exp."""
        context, block = self.context, q.shape[1]
        ring, index, ulysses = context.layout.ring, context.ring_index, context.layout.ulysses
        start = index * block
        q, k = self._rotated(q, start), self._rotated(k, start)
        travelling = torch.stack((k, v)).contiguous()
        after = context.ranks[((index + 1) % ring) * ulysses + context.ulysses_index]
        before = context.ranks[((index - 1) % ring) * ulysses + context.ulysses_index]
        out = lse = None
        for step in range(ring):
            source = (index - step) % ring  # the ring index whose keys are here now
            requests = []
            if step < ring - 1:  # pass the block on while attending to it
                incoming = torch.empty_like(travelling)
                requests = dist.batch_isend_irecv([  # one batch: NCCL could deadlock on separate send/recv
                    dist.P2POp(dist.isend, travelling, after, group=context.group),
                    dist.P2POp(dist.irecv, incoming, before, group=context.group)])
            real = min(block, max(0, self.grid.tokens - source * block))
            if real:  # a block of padding only adds nothing
                mask = None if real == block else (torch.arange(block, device=q.device) < real).expand(q.shape[0], -1)
                part, part_lse = attention(q, travelling[0], travelling[1], key_mask=mask, return_lse=True,
                                           backend=backend, caller=caller)
                out, lse = merge_partial(out, lse, part, part_lse)
            for request in requests:
                request.wait()
            if requests:
                travelling = incoming
        return out.to(q.dtype)

    def _rotated(self, x, start: int):
        """RoPE for the tokens start … start + len(x) of the grid; padding rows (past its end) as they are."""
        real = min(x.shape[1], max(0, self.grid.tokens - start))
        return torch.cat([apply_rope(x[:, :real], self.grid, first=start), x[:, real:]], dim=1)


def merge_partial(out, lse, part, part_lse):
    """Combine attention over two disjoint key sets from their results [B, N, H, D] and log-sum-exps
    [B, N, H]: each weighted by its share of the total softmax mass. `out` None: the first part."""
    if out is None:
        return part.float(), part_lse
    total = torch.logaddexp(lse, part_lse)
    finite = torch.where(torch.isinf(total), torch.zeros_like(total), total)  # rows that attended nothing yet
    weight, part_weight = torch.exp(lse - finite)[..., None], torch.exp(part_lse - finite)[..., None]
    return out * weight + part.float() * part_weight, total
