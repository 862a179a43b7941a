"""Saturation (SPEC D14, D8, E3, E5) on models whose answer is known: levels, convergence,
heads, one source."""
