"""Helpers shared by every notebook of the course: gradient checking, seeding, plotting.

Import the submodules you need, e.g. ``from utils.gradcheck import numerical_gradient``.
"""
from .gradcheck import numerical_gradient, numerical_gradient_array, relative_error
from .seeding import make_rng, DEFAULT_SEED, fast_mode

__all__ = [
    "numerical_gradient", "numerical_gradient_array", "relative_error",
    "make_rng", "DEFAULT_SEED", "fast_mode",
]
