"""Command-line interface (thin: parsing and I/O, calling library functions)."""
