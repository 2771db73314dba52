"""Calibrations (``guichet calibrate …``): thresholds chosen on labelled data, written to
evals/calibration/*.json."""
