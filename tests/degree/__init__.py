"""Degrees: the rules of SPEC D16, the degree engine, the numerical degree checks and the
decay classifiers."""
