"""guichet ui."""
