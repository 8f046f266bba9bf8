"""Tiny corpora in the real on-disk layouts (CVSS + Common Voice, VoiceBank-DEMAND, VCTK, AudioMNIST, FSDD).

Every audio file is a real file of its format (WAV, FLAC, MP3 written by libsndfile) holding a short tone whose
length is known, so readers' header durations can be checked. Sample rates follow the real corpora.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

MP3_AVAILABLE = "MP3" in sf.available_formats()
MP3_SKIP_REASON = "this libsndfile cannot write MP3, so no real Common Voice clip can be made"

CV_HEADER = ["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent"]


def write_tone(path: Path, seconds: float, sample_rate: int) -> Path:
    """A mono tone of ``seconds`` in the format the extension names (.wav, .flac, .mp3)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    wave = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".mp3": "MP3"}[path.suffix]
    sf.write(str(path), wave, sample_rate, format=fmt)
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- CVSS + Common Voice -------------------------------------------------------------------------------------

CVSS_ROWS = {  # split -> [(clip number, English translation, French sentence, client_id, seconds)]
    "train": [(17732749, "the black cat sleeps", "le chat noir dort", "spk_a", 0.30),
              (17732750, "she is not here", "elle n'est pas là", "spk_b", 0.40),
              (17732751, "\"quoted\" words, too", "des « mots » \"cités\"", "spk_a", 0.50)],
    "dev": [(19176154, "where is the station?", "où est la gare ?", "spk_c", 0.35)],
}


def clip_name(number: int) -> str:
    return f"common_voice_fr_{number}.mp3"


def make_cvss(root: Path, cv_root: Path, nested: bool = True) -> dict:
    """CVSS release (under ``root/fr`` when ``nested``) + Common Voice fr release under ``cv_root``.

    The last train clip is listed only in Common Voice's train.tsv (not validated.tsv), as happens when CoVoST
    splits differ from Common Voice's. Returns the rows and where everything went.
    """
    cvss_dir = root / "fr" if nested else root
    validated, cv_train = [], []
    for split, rows in CVSS_ROWS.items():
        write_lines(cvss_dir / f"{split}.tsv", [f"{clip_name(n)}\t{en}" for n, en, *_ in rows])
        for index, (number, _, fr, client, seconds) in enumerate(rows):
            write_tone(cvss_dir / split / f"{clip_name(number)}.wav", seconds + 0.2, 24000)
            write_tone(cv_root / "clips" / clip_name(number), seconds, 48000)
            line = "\t".join([client, clip_name(number), fr, "2", "0", "", "", ""])
            (cv_train if split == "train" and index == len(rows) - 1 else validated).append(line)
    write_lines(cv_root / "validated.tsv", ["\t".join(CV_HEADER), *validated])
    write_lines(cv_root / "train.tsv", ["\t".join(CV_HEADER), *cv_train])
    return {"rows": CVSS_ROWS, "cvss_dir": cvss_dir, "cv_root": cv_root}


# --- VoiceBank-DEMAND and VCTK -------------------------------------------------------------------------------

VOICEBANK = {  # split stem -> [(id, transcript, noise, snr, seconds)]
    "trainset_28spk": [("p226_001", "Please call Stella.", "cafe", 15.0, 0.30),
                       ("p226_002", "Ask her to bring these things.", "living", 5.0, 0.45),
                       ("p287_001", "Six spoons of fresh snow peas.", "babble", 0.0, 0.25)],
    "testset": [("p232_001", "Five thick slabs of blue cheese.", "bus", 2.5, 0.40)],
}


def make_voicebank(root: Path, with_text: bool = True, with_log: bool = True) -> dict:
    for stem, rows in VOICEBANK.items():
        for utterance_id, text, noise, snr, seconds in rows:
            write_tone(root / f"clean_{stem}_wav" / f"{utterance_id}.wav", seconds, 48000)
            write_tone(root / f"noisy_{stem}_wav" / f"{utterance_id}.wav", seconds, 48000)
            if with_text:
                write_lines(root / f"{stem}_txt" / f"{utterance_id}.txt", [text])
        if with_log:
            write_lines(root / "logfiles" / f"log_{stem}.txt", [f"{i} {n} {s:g}" for i, _, n, s, _ in rows])
    return VOICEBANK


VCTK = [("p225_001", "Please call Stella.", 0.30), ("p225_002", "Ask her to bring these things.", 0.40),
        ("p226_001", "Six spoons of fresh snow peas.", 0.50)]


def make_vctk(root: Path, release: str = "0.92") -> list:
    """VCTK 0.92 (FLAC, mic1 + mic2; p226_001 has only mic2; p315 has audio and no transcript) or 0.80 (WAV)."""
    for utterance_id, text, seconds in VCTK:
        speaker = utterance_id.split("_")[0]
        write_lines(root / "txt" / speaker / f"{utterance_id}.txt", [text])
        if release == "0.80":
            write_tone(root / "wav48" / speaker / f"{utterance_id}.wav", seconds, 48000)
            continue
        mics = ("mic2",) if utterance_id == "p226_001" else ("mic1", "mic2")
        for mic in mics:
            write_tone(root / "wav48_silence_trimmed" / speaker / f"{utterance_id}_{mic}.flac",
                       seconds + (0.05 if mic == "mic2" else 0.0), 48000)
    if release == "0.92":
        write_tone(root / "wav48_silence_trimmed" / "p315" / "p315_001_mic1.flac", 0.2, 48000)
    return VCTK


# --- spoken digits -------------------------------------------------------------------------------------------

def make_audiomnist(root: Path) -> list[tuple[str, str, int, float]]:
    """Two speakers, three digits each, two repetitions of one digit; plus the meta file and a notes file."""
    files = []
    for speaker in ("01", "02"):
        for digit, index in ((0, 0), (7, 0), (7, 1), (9, 0)):
            seconds = 0.2 + 0.05 * digit + 0.01 * index
            write_tone(root / "data" / speaker / f"{digit}_{speaker}_{index}.wav", seconds, 48000)
            files.append((speaker, str(digit), index, seconds))
    (root / "data" / "audioMNIST_meta.txt").write_text('{"01": {"gender": "male"}, "02": {"gender": "female"}}')
    write_lines(root / "data" / "02" / "notes.txt", ["3_20 was copied from 3_19"])
    return files


def make_fsdd(root: Path) -> list[tuple[str, str, int, float]]:
    files = []
    for speaker in ("jackson", "theo"):
        for digit, index in ((1, 0), (1, 7), (4, 4), (8, 5), (8, 49)):
            seconds = 0.25 + 0.02 * index
            write_tone(root / "recordings" / f"{digit}_{speaker}_{index}.wav", seconds, 8000)
            files.append((speaker, str(digit), index, seconds))
    return files
