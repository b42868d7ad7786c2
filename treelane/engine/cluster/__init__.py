"""Attempts on a Dask cluster (``pip install "treelane[dask]"``); see docs/distributed.md.

``bundles``: git bundles both ways. ``worker``: what runs on a Dask worker (its own clone
per repository and its own warm worktrees). ``client``: the coordinator's side.
"""
