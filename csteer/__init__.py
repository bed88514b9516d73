"""csteer: an edge runtime for CodeSteer-style code/text steering of language models."""

__version__ = "0.1.0"
