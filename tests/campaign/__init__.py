"""Campaigns: claims and shards of their searches through any executor, serial or under
pytest-xdist."""
