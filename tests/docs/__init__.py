"""The README, the documentation sources and the built site, CONTRIBUTING.md's module map,
and the pages' examples."""
