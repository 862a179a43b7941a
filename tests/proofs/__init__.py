"""The proof checker's framework: claims, search, strategies, limits, the mpmath primitives
and model, replay."""
