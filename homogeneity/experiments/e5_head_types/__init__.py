"""SPEC E5 / D8: head types (argmax-like, in-between, mean-like) of a pretrained transformer
as it is, at ρ = 1000 and in the exact limit, and where each head's attention goes.

==========  ======================================================================
compute     :func:`head_types` → :class:`HeadTypes`, from the E3 pass's analyses
report      the head tables
plots       E5's figures
command     ``python -m homogeneity.experiments.e5_head_types`` (E5 alone: no ρ sweep)
==========  ======================================================================
"""
