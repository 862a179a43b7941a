"""The transformer components and the adapter interface the saturation analyses read models
through."""
