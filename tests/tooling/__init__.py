"""The tree's own hygiene: lint, formatting, mypy, and what the checker core may import."""
