"""Checkpoints: loading, the exact MiniLM port, the shipped sentences, and the E3/E5 report
on them."""
