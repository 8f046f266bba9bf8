"""Our speaker encoder (reference clip -> voice embedding); the training task lives in `diffs2st.speaker.task`."""

from .encoder import SPEC_KEYS, SpeakerEncoder, SpeakerEncoderConfig

__all__ = ["SPEC_KEYS", "SpeakerEncoder", "SpeakerEncoderConfig"]
