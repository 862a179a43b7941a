"""The experiments by SPEC id: their compute/report/command split, the small LM, E5 on a
trained LM, E6 curves."""
