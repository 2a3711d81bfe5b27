"""Block swap: run a DiT that does not fit the device by keeping only some of its blocks there.

The weights outside the blocks and the first `resident` blocks are placed on the compute device; the
other blocks stay on the offload device and are brought in for their own forward call only (each
weight's storage is swapped for a device copy, then back: the weights are read-only, so nothing is
copied back). At most one streamed block is on the device at a time, so the weights there peak at
`fixed + resident blocks + the largest streamed block` bytes, which `blocks_within` solves for a
budget. The result is the same as unswapped: the same maths, only where the weights wait differs.

Pure torch: the caller chooses the device and the budget (nodes/host.py asks ComfyUI for them).
"""
import torch
from torch import nn


class BlockSwap:
    """The placement of one DiT's weights, and how many bytes of them are on the device (now and at most).

    On a CPU 'device' nothing is really moved; the counts are the stand-in for device memory."""

    def __init__(self, model: nn.Module, device, resident: int, offload_device="cpu"):
        blocks = model.blocks
        if not 0 <= resident <= len(blocks):
            raise ValueError(f"blocks on the device must be between 0 and {len(blocks)}, not {resident}.")
        self.device, self.offload_device, self.resident = torch.device(device), torch.device(offload_device), resident
        streamed = set(range(resident, len(blocks)))
        for index, block in enumerate(blocks):
            if index in streamed:
                block.to(self.offload_device)
        for name, child in model.named_children():
            if name != "blocks":
                child.to(self.device)
        for tensor in _tensors(model, recurse=False):
            tensor.data = tensor.data.to(self.device)
        for index in range(resident):
            blocks[index].to(self.device)
        self.on_device = fixed_bytes(model) + sum(module_bytes(blocks[i]) for i in range(resident))
        self.peak = self.on_device
        self._hooks = [hook for index in sorted(streamed) for hook in self._stream(blocks[index])]

    def _stream(self, block: nn.Module):
        waiting = {}  # tensor -> its offload-device storage, while the block runs
        size = module_bytes(block)

        def bring_in(module, args):
            for tensor in _tensors(block):
                waiting[tensor] = tensor.data
                tensor.data = tensor.data.to(self.device, non_blocking=True)
            self.on_device += size
            self.peak = max(self.peak, self.on_device)

        def send_back(module, args, output):
            for tensor, stored in waiting.items():
                tensor.data = stored
            waiting.clear()
            self.on_device -= size

        return block.register_forward_pre_hook(bring_in), block.register_forward_hook(send_back)

    def remove(self) -> None:
        """Stop streaming (the streamed blocks stay on the offload device)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []


def module_bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in _tensors(module))


def fixed_bytes(model: nn.Module) -> int:
    """Bytes of the weights outside the blocks: always on the device."""
    return module_bytes(model) - sum(module_bytes(block) for block in model.blocks)


def device_bytes(model: nn.Module, resident: int) -> int:
    """Bytes of weights on the device at most with `resident` blocks kept there: the fixed weights, those
    blocks and the largest streamed one."""
    sizes = [module_bytes(block) for block in model.blocks]
    return fixed_bytes(model) + sum(sizes[:resident]) + max(sizes[resident:], default=0)


def blocks_within(model: nn.Module, budget: int) -> int:
    """The most blocks that can stay on the device with the weights there within `budget` bytes; raises
    ValueError when not even streaming every block fits."""
    for resident in range(len(model.blocks), -1, -1):
        if device_bytes(model, resident) <= budget:
            return resident
    raise ValueError(f"the DiT needs at least {device_bytes(model, 0) / 2**30:.2f} GiB on the device even with "
                     f"every block streamed (its weights outside the blocks and one block), but only "
                     f"{max(budget, 0) / 2**30:.2f} GiB are free.")


def _tensors(module: nn.Module, recurse: bool = True):
    yield from module.parameters(recurse=recurse)
    yield from module.buffers(recurse=recurse)
