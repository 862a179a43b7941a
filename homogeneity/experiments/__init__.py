"""Reproductions of the paper's experiments (SPEC E1–E8) and the tables this package prints."""
