"""guichet: a sovereign, grounded assistant for a French town hall's public reception."""

__version__ = "0.1.0"
