"""Exception hierarchy. Every error a user can cause is a `Diffs2stError`; the CLI prints it as one line."""


class Diffs2stError(Exception):
    """Base class of every error caused by user input (bad files, bad configs, bad options)."""


class AudioError(Diffs2stError):
    """Audio that cannot be read or is unusable: unreadable, empty, non-finite, silent, too short or too long."""


class AudioTooLongError(AudioError):
    """Audio longer than the configured limit; the message names the option that lifts it."""


class ConfigError(Diffs2stError):
    """A configuration that does not match its schema: unknown key, missing key, wrong type or value."""


class CheckpointError(Diffs2stError):
    """A checkpoint directory that is missing files, or whose weights do not fit its config."""


class OutputPathError(Diffs2stError):
    """An output location that cannot be written (for example its folder does not exist)."""


class DataError(Diffs2stError):
    """A corpus or manifest that is missing, malformed or inconsistent."""


class TruncationWarning(UserWarning):
    """Output that was cut at a configured limit (for example decoding that reached its length limit)."""
