"""Operators that run pipeline nodes, one per node type, on a shared base."""
