"""The test suite, one package per area (see CONTRIBUTING.md, "The tests")."""
