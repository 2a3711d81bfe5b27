"""Parallel Devices: the DiT, marked to be sampled by worker processes, one per device, that split every
DiT call's tokens between them (engine/parallel). The Sampler and Remix run a marked DiT's plans there."""
from dataclasses import dataclass

from comfy_api.latest import io

from ..engine.parallel.devices import FORMS, layout_for, parse_devices
from ..engine.parallel.workers import BACKENDS, WorkerSpec, check_backend
from .types import DiT


@dataclass(frozen=True)
class ParallelDiT:
    """The loaded DiT (whose module the samplers read the model's settings from) and the workers that run it."""

    placed: object  # the loader's host.PlacedModel
    workers: WorkerSpec

    @property
    def module(self):
        return self.placed.module

    @property
    def device(self):
        return self.placed.device


def problem(devices: str | None, ulysses: int | None, ring: int | None, cfg_split: bool | None,
            backend: str | None) -> str | None:
    if devices is None or not devices.strip() or None in (ulysses, ring, cfg_split, backend):
        return None  # linked inputs are checked when the node runs
    try:
        check_backend(backend)
        layout_for(len(parse_devices(devices, here=backend != "ray")), ulysses, ring, 2 if cfg_split else 1)
    except ValueError as error:
        return str(error)
    return None


class Parallel(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeParallel",
            display_name="Parallel Devices (Spacetime)",
            category="Spacetime",
            description="Samples with several devices at once: one worker process per device, each loading the "
            "model file itself, every DiT call's video tokens split between them (Ulysses: attention heads "
            "shared out; ring: keys and values passed around), or with cfg_split each step's two guidance calls made "
            "at once by two halves of them. Empty devices: one device, as without this node.",
            inputs=[
                DiT.Input("dit", tooltip="The video model, from Load DiT (the workers load the same file with the "
                          "same dtype and attention)."),
                io.String.Input("devices", default="", tooltip=f"Where the workers run: {FORMS}. Empty: no "
                                "workers, the model runs where ComfyUI put it."),
                io.Int.Input("ulysses", default=0, min=0, max=64,
                             tooltip="Ulysses degree: devices that share out each attention's heads (must divide "
                             "the head count: Wan 2.1 1.3B has 12, 14B 40); 0 = every device not used by ring."),
                io.Int.Input("ring", default=1, min=1, max=64,
                             tooltip="Ring degree: groups of devices that pass keys and values around (no head "
                             "limit, more traffic: for devices across machines). ulysses x ring = the devices "
                             "(per half, with the CFG split)."),
                io.Boolean.Input("cfg_split", default=False, optional=True,
                                 tooltip="Run each step's conditional and unconditional DiT calls at the same time, "
                                 "on two halves of the devices (each half split by ulysses x ring). Needs an even "
                                 "number of devices; only the Sampler's cfg other than 1 makes two calls (at cfg 1 "
                                 "both halves make the same one). Off: every device shares every call."),
                io.Combo.Input("backend", options=list(BACKENDS), default=BACKENDS[0], optional=True,
                               tooltip="How the workers start: multiprocessing = processes on this machine; ray = "
                               "Ray actors, for GPUs on several machines (the cluster RAY_ADDRESS names, else a "
                               "local one; needs `pip install ray`, and the pack and model file at the same paths "
                               "on every machine; Ray picks which GPUs of the cluster: cuda:0,1,2,3 asks for 4)."),
            ],
            outputs=[DiT.Output(display_name="dit", tooltip="The same model, sampled by the workers: wire it into "
                                "the Sampler or Remix.")],
        )

    @classmethod
    def validate_inputs(cls, devices, ulysses, ring, cfg_split=False, backend=BACKENDS[0]):
        return problem(devices, ulysses, ring, cfg_split, backend) or True

    @classmethod
    def execute(cls, dit, devices, ulysses, ring, cfg_split=False, backend=BACKENDS[0]) -> io.NodeOutput:
        placed = getattr(dit, "placed", dit)  # a second Parallel Devices node replaces the first one's choice
        if not devices.strip():
            return io.NodeOutput(placed)
        module = placed.module
        source = getattr(module, "file", None)
        if source is None:
            raise ValueError("Parallel Devices needs the DiT from Load Wan DiT (Spacetime): the workers load "
                             "its model file themselves.")
        names = parse_devices(devices, here=backend != "ray")
        layout = layout_for(len(names), ulysses, ring, 2 if cfg_split else 1)
        layout.check(module.config.num_heads)
        return io.NodeOutput(ParallelDiT(placed, WorkerSpec(source, module.attention_backend, names, layout, backend)))


NODES = [Parallel]
