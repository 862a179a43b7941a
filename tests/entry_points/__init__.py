"""The public entry points across the board: bad input, the command line, Ctrl-C, and CUDA
tensors."""
