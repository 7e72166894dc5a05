"""Stage 4: generated C + runtime -> firmware ELF for a board (cached), and its sizes."""
