"""Every check on the models researchers use (tiny random-init transformers models), as the
user has them."""
