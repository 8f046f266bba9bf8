"""Speech translation (DESIGN §1–§2): Conformer encoder, source and target decoders, batched greedy/beam search."""

from .model import (VARIANTS, SpeechTranslator, SpeechTranslatorConfig, TranslationResult, translate_long,
                    translate_waves)
from .tokenizer import CharTokenizer, build_symbols

__all__ = ["VARIANTS", "CharTokenizer", "SpeechTranslator", "SpeechTranslatorConfig", "TranslationResult",
           "build_symbols", "translate_long",
           "translate_waves"]
