"""Results -> tidy DataFrame -> tables and figures. Never imports torch."""
