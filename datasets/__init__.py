"""Data for the course: synthetic generators and real datasets that ship offline (no downloads).

- :func:`make_blobs`, :func:`make_spirals`, :func:`make_moons`: 2-D classification data for decision-boundary pictures.
- :func:`ill_conditioned_quadratic`, :func:`saddle`: surfaces for optimizer trajectories.
- :func:`load_digits`: scikit-learn's 8x8 handwritten digits with the course's fixed split.
"""
from .synthetic import make_blobs, make_moons, make_spirals, ill_conditioned_quadratic, saddle, Surface
from .real import load_digits, DIGITS_SPLIT

__all__ = ["make_blobs", "make_moons", "make_spirals", "ill_conditioned_quadratic", "saddle", "Surface",
           "load_digits", "DIGITS_SPLIT"]
