"""Stage 6: compare target results with the host reference."""
