"""The ray ρ ↦ f(x; ρθ) and the checked execution path along it, including the Euler check's
tangent rule."""
