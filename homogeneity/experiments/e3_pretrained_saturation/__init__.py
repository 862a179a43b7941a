"""SPEC E3: the saturation level (D14) per layer of a pretrained transformer against
random-init copies of it, with the exact limit (ρ = ∞) and the convergence along the ray.

==========  ======================================================================
subjects    what is analysed: the checkpoint (MiniLM by default, any transformers
            folder) and the sentences (the shipped ones, or a file)
compute     the run: :func:`run_pretrained_saturation` → :class:`PretrainedSaturationReport`
report      tables, the printed report (with E5's), ``report.json``
plots       E3's figures
command     ``homogeneity saturation``, the same as
            ``python -m homogeneity.experiments.e3_pretrained_saturation``
==========  ======================================================================

E5 (head types) is computed in the same pass and reported by
:mod:`homogeneity.experiments.e5_head_types`.
"""
