"""Stage 3: C source for a model (weights, parameters, op sequence, memory plan)."""
