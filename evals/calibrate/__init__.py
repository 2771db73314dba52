"""Calibrations (``guichet calibrate …``): thresholds chosen on labelled data, written to
assistant/core/calibration/*.json."""
