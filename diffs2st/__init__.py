"""diffs2st: direct speech-to-speech translation with diffusion synthesis that keeps the speaker's voice."""

__version__ = "0.1.0"
