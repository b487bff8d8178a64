"""Layer: settings, the clock and errors; imports nothing else of qcflow."""
