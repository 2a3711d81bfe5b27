"""Step Cache: a core MODEL (e.g. Wan loaded by core's Load Diffusion Model) skips the DiT evaluations its
earlier steps predict, as the Sampler's `cache` input does, through core's model function wrapper."""
import logging

from comfy_api.latest import io

from ..engine.sampling.step_cache import LEVELS, LEVELS_HELP, StepCache, core_model_wrapper
from .validation import checked, choice_problem

LOG = logging.getLogger("spacetime.step_cache")


class StepCacheNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeStepCache",
            display_name="Step Cache (Spacetime)",
            category="Spacetime",
            description="Makes a core model (e.g. Wan 2.1 from Load Diffusion Model) skip the evaluations its "
            "earlier steps predict, for core's samplers. Put it between the model loader and the sampler; "
            "the log says how many steps each run computed.",
            inputs=[
                io.Model.Input("model", tooltip="A core MODEL of a flow model (e.g. Wan 2.1 from Load Diffusion "
                               "Model)."),
                io.Combo.Input("cache", options=list(LEVELS), default="safe", tooltip="Skip model evaluations the earlier steps predict: " + LEVELS_HELP),
            ],
            outputs=[io.Model.Output(tooltip="The same model with step caching; for core samplers.")],
        )

    @classmethod
    def validate_inputs(cls, cache):
        return checked(choice_problem("cache", cache, list(LEVELS)))

    @classmethod
    def execute(cls, model, cache) -> io.NodeOutput:
        patched = model.clone()
        if "model_function_wrapper" in patched.model_options:
            LOG.warning("Step Cache replaces the model function wrapper an earlier node set")

        def report(computed, steps):
            LOG.info("Step Cache (%s): computed %d of %d steps", cache, computed, steps)

        patched.set_model_unet_function_wrapper(core_model_wrapper(StepCache(LEVELS[cache]), report))
        return io.NodeOutput(patched)


NODES = [StepCacheNode]
