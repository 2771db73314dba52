"""Thresholds chosen on data: ``guichet calibrate {gate,support,subject,meaning} --write`` writes
these files and the settings (assistant/core/settings.py) read their defaults from them."""
