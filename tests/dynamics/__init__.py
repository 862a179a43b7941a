"""Norm-growth dynamics: the closed-form formulas, gradient directions, predictions,
growth-law fits and the tracker."""
