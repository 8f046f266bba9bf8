"""VCTK (read speech, 110 English speakers) and VoiceBank-DEMAND (VCTK speakers mixed with DEMAND noise).

VCTK layouts assumed (release 0.92 and the older 0.80 "VCTK-Corpus"):

    <root>/txt/p225/p225_001.txt                           transcript, one line
    <root>/wav48_silence_trimmed/p225/p225_001_mic1.flac   0.92: two microphones, mic1 (default) or mic2
    <root>/wav48/p225/p225_001.wav                         0.80

Rows are the transcripts. A transcript without audio is a missing row; audio without a transcript (0.92 ships
none for p315) cannot become a SpeechRecord and is counted in the listing's notes.

VoiceBank-DEMAND layout assumed (Valentini-Botinhao et al., Edinburgh DataShare 10283/2791):

    <root>/clean_trainset_28spk_wav/p226_001.wav   noisy_trainset_28spk_wav/p226_001.wav   split "train"
    <root>/clean_trainset_56spk_wav/...            noisy_trainset_56spk_wav/...            split "train56"
    <root>/clean_testset_wav/p232_001.wav          noisy_testset_wav/p232_001.wav          split "test"
    optional: <root>/trainset_28spk_txt/p226_001.txt (testset_txt/, trainset_56spk_txt/) transcripts, and
    <root>/[logfiles/]log_trainset_28spk.txt (log_testset.txt, ...): "<id> <noise type> <snr dB>" per line.

Rows are the union of clean and noisy file names, so a file missing on either side is a reported row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..manifest import EnhancementRecord, SpeechRecord
from .base import Candidate, CorpusReader, Listing, first_existing

VCTK_AUDIO_DIRS = {"wav48_silence_trimmed": ".flac", "wav48": ".wav"}  # newest release first
VCTK_MICS = ("mic1", "mic2")
VOICEBANK_SPLITS = {"train": "trainset_28spk", "train56": "trainset_56spk", "test": "testset"}
FIRST_NAMES_SHOWN = 3


def read_transcript(path: Path) -> str:
    """One-line transcript file; a few VCTK files are not UTF-8, so Latin-1 is the fallback."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return " ".join(text.split())


def speaker_of(utterance_id: str) -> str:
    """VCTK utterance ids are ``<speaker>_<number>`` (p226_001 -> p226)."""
    return utterance_id.split("_", 1)[0]


def _names(ids: list[str]) -> str:
    more = f" and {len(ids) - FIRST_NAMES_SHOWN} more" if len(ids) > FIRST_NAMES_SHOWN else ""
    return ", ".join(ids[:FIRST_NAMES_SHOWN]) + more


class VctkReader(CorpusReader):
    """VCTK 0.92 (FLAC, ``mic`` mic1 or mic2; the other microphone fills in where one is missing) or 0.80."""

    record_type = SpeechRecord
    layout = ("<root>/txt/<speaker>/<id>.txt with <root>/wav48_silence_trimmed/<speaker>/<id>_mic1.flac (0.92) "
              "or <root>/wav48/<speaker>/<id>.wav (0.80)")

    def __init__(self, mic: str = "mic1") -> None:
        if mic not in VCTK_MICS:
            raise ValueError(f"VCTK mic must be one of {VCTK_MICS}, got {mic!r}")
        self.mic = mic

    def describe(self) -> str:
        return "VCTK"

    def list_rows(self, root: Path, split: Optional[str], source_root: Optional[Path]) -> Listing:
        self.require_dir(root, "VCTK root")
        text_dir = self.require_dir(root / "txt", "VCTK transcript")
        audio_dir = first_existing(root / name for name in VCTK_AUDIO_DIRS)
        if audio_dir is None:
            raise self.layout_error(f"no VCTK audio folder ({' or '.join(VCTK_AUDIO_DIRS)}) in {root}")
        transcripts = sorted(text_dir.glob("*/*.txt"))
        if not transcripts:
            raise self.layout_error(f"no transcripts in {text_dir}")
        candidates = [Candidate(id=path.stem, audio={"audio": self._audio_path(audio_dir, path.stem)},
                                fields=dict(speaker=path.parent.name, text=read_transcript(path), lang="en"))
                      for path in transcripts]
        return Listing(candidates, self._untranscribed_note(audio_dir, {path.stem for path in transcripts}))

    def _audio_path(self, audio_dir: Path, utterance_id: str) -> Path:
        folder = audio_dir / speaker_of(utterance_id)
        if VCTK_AUDIO_DIRS[audio_dir.name] == ".wav":
            return folder / f"{utterance_id}.wav"
        preferred = folder / f"{utterance_id}_{self.mic}.flac"
        others = [folder / f"{utterance_id}_{mic}.flac" for mic in VCTK_MICS if mic != self.mic]
        return first_existing([preferred, *others], Path.is_file) or preferred

    @staticmethod
    def _untranscribed_note(audio_dir: Path, transcribed: set[str]) -> list[str]:
        suffix = VCTK_AUDIO_DIRS[audio_dir.name]
        untranscribed = set()
        for path in audio_dir.glob(f"*/*{suffix}"):
            utterance_id = path.stem
            for mic in VCTK_MICS:
                utterance_id = utterance_id.removesuffix(f"_{mic}")
            if utterance_id not in transcribed:
                untranscribed.add(utterance_id)
        if not untranscribed:
            return []
        return [f"{len(untranscribed)} utterances have audio but no transcript and were left out "
                f"({_names(sorted(untranscribed))})"]


class VoiceBankDemandReader(CorpusReader):
    """VoiceBank-DEMAND clean/noisy pairs; transcripts and noise logs are used when present."""

    record_type = EnhancementRecord
    splits = tuple(VOICEBANK_SPLITS)
    layout = ("<root>/{clean,noisy}_trainset_28spk_wav/<id>.wav (test: {clean,noisy}_testset_wav), optional "
              "<root>/trainset_28spk_txt/<id>.txt and <root>/[logfiles/]log_trainset_28spk.txt")

    def describe(self) -> str:
        return "VoiceBank-DEMAND"

    def list_rows(self, root: Path, split: Optional[str], source_root: Optional[Path]) -> Listing:
        stem = VOICEBANK_SPLITS[split]
        self.require_dir(root, "VoiceBank-DEMAND root")
        clean_dir = self.require_dir(root / f"clean_{stem}_wav", f"clean {split}")
        noisy_dir = self.require_dir(root / f"noisy_{stem}_wav", f"noisy {split}")
        ids = sorted({path.stem for path in clean_dir.glob("*.wav")} | {path.stem for path in noisy_dir.glob("*.wav")})
        if not ids:
            raise self.layout_error(f"no .wav files in {clean_dir} or {noisy_dir}")
        text_dir = root / f"{stem}_txt"
        transcripts = self._transcripts(text_dir, ids)
        noise_log = self._noise_log(root, stem)
        candidates = [self._pair(utterance_id, clean_dir, noisy_dir, transcripts.get(utterance_id),
                                 noise_log.get(utterance_id, (None, None))) for utterance_id in ids]
        untranscribed = [utterance_id for utterance_id in ids if utterance_id not in transcripts]
        if not text_dir.is_dir():
            notes = [f"no transcript folder {text_dir}: text left empty"]
        elif untranscribed:
            notes = [f"{len(untranscribed)} pairs have no transcript in {text_dir} ({_names(untranscribed)})"]
        else:
            notes = []
        return Listing(candidates, notes)

    @staticmethod
    def _pair(utterance_id: str, clean_dir: Path, noisy_dir: Path, text: Optional[str],
              noise: tuple[Optional[str], Optional[float]]) -> Candidate:
        return Candidate(id=utterance_id,
                         audio={"clean_audio": clean_dir / f"{utterance_id}.wav",
                                "noisy_audio": noisy_dir / f"{utterance_id}.wav"},
                         fields=dict(speaker=speaker_of(utterance_id), text=text, noise_family=noise[0],
                                     snr_db=noise[1]))

    @staticmethod
    def _transcripts(text_dir: Path, ids: list[str]) -> dict[str, str]:
        """``id -> transcript`` for the ids whose optional transcript file exists."""
        paths = {utterance_id: text_dir / f"{utterance_id}.txt" for utterance_id in ids}
        return {utterance_id: read_transcript(path) for utterance_id, path in paths.items() if path.is_file()}

    def _noise_log(self, root: Path, stem: str) -> dict[str, tuple[str, float]]:
        """``id -> (noise type, SNR dB)`` from the optional log file; a malformed line is a DataError."""
        log = first_existing((root / f"log_{stem}.txt", root / "logfiles" / f"log_{stem}.txt"), Path.is_file)
        if log is None:
            return {}
        entries = {}
        for number, line in enumerate(log.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                utterance_id, noise_family, snr = parts
                entries[utterance_id] = (noise_family, float(snr))
            except ValueError:
                raise self.layout_error(f"{log}:{number}: expected '<id> <noise type> <snr dB>'") from None
        return entries
