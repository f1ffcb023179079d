"""alignx: personalized alignment of language models (AlignX / AlignXpert)."""

__version__ = "0.1.0"
