"""The registered claims through the pytest plugin, and the facts behind single claims
beyond what the registry runs."""
