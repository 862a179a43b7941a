"""SPEC E5 / D8: head types (argmax-like, in-between, mean-like) of a pretrained transformer
as it is, at ρ = 1000 and in the exact limit, and where each head's attention goes.

==========  ======================================================================
compute     :func:`head_types` → :class:`HeadTypes`, from the E3 pass's analyses
report      the head tables
plots       E5's figures
command     ``python -m homogeneity.experiments.e5_head_types`` (E5 alone: no ρ sweep)
==========  ======================================================================

E5 as the paper ran it, on a causal LM trained here until saturated (D14 ≥ 0.95):

===============  =================================================================
trained_compute  :func:`~.trained_compute.run_trained_head_types` →
                 :class:`~.trained_compute.TrainedHeadTypes` (train, D14, head counts
                 as trained, at ρ = 1000 and in the limit, the histogram's modes)
trained_report   its tables and ``e5_trained_report.json``
trained_plots    its histogram and D14-during-training figures
trained          ``python -m homogeneity.experiments.e5_head_types.trained``
===============  =================================================================
"""
