"""Cycles and latency: estimates from instruction classes, measured counts, statistics."""
