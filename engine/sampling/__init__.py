"""Sampling for rectified-flow video models: schedules, noise, solvers, guidance and the one plan-driven loop."""
from .denoisers import cfg_denoiser, flow_denoiser
from .noise import initial_noise
from .plan import SamplingPlan
from .sampler import plan_sigmas, sample
from .schedule import flow_sigmas
from .solvers import SOLVERS, Solver, get_solver

__all__ = ["SamplingPlan", "SOLVERS", "Solver", "cfg_denoiser", "flow_denoiser", "flow_sigmas", "get_solver",
           "initial_noise", "plan_sigmas", "sample"]
