"""The playlist document model: pure functions over a pycrdt ``Doc``, no I/O.

- :mod:`crdt.schema`: root names and field names of schema v1.
- :mod:`crdt.operations`: the writes (add, move, remove, vote, play, stop).
- :mod:`crdt.projection`: the read model (ordered items, vote sums, playing state).
- :mod:`crdt.repairs`: what the server fixes after a merge.
- :mod:`crdt.diff`: two projections in, the legacy event stream's changes out.
"""
