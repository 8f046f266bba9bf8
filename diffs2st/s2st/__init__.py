"""Direct speech-to-speech translation (DESIGN §2): the acoustic synthesizer and its learned alignment."""

from .synthesizer import AcousticSynthesizer, SynthesisOutput, SynthesizerConfig

__all__ = ["AcousticSynthesizer", "SynthesisOutput", "SynthesizerConfig"]
