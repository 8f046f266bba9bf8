"""`diffs2st data import NAME ROOT --out manifest.jsonl`: list a real corpus on disk as a manifest."""

from __future__ import annotations

import sys

from ..errors import DataError
from .main import add_command

# diffs2st.data.readers.READERS.names(), written out so that `--help` imports no audio stack (torch);
# tests/test_cold_start.py keeps the two equal.
READER_NAMES = ("audiomnist", "cvss-c", "cvss-t", "fsdd", "vctk", "voicebank-demand")


def _import(args) -> int:
    from ..audio import check_output_path
    from ..data.manifest import write_manifest
    from ..data.readers import READERS, read_corpus
    from ..data.readers.base import missing_message

    out = check_output_path(args.out)
    result = read_corpus(args.name, args.root, out.parent, split=args.split, source_root=args.source_root,
                         skip_missing=args.skip_missing)
    if not result.records:
        raise DataError(f"no usable rows in {args.root}: nothing written")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.missing:
        total = len(result.records) + len(result.missing)
        print(f"skipped: {missing_message(result.missing, total)}", file=sys.stderr)
    write_manifest(out, result.records)
    split = READERS.get(args.name).check_split(args.split)
    split = f" {split}" if split else ""
    print(f"{args.name}{split}: {len(result.records)} records, {result.hours:.2f} h -> {out}")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "import", "list a real corpus on disk as a JSONL manifest",
                         description="List a real corpus (CVSS-C/T + Common Voice, VoiceBank-DEMAND, VCTK, "
                                     "AudioMNIST, FSDD) as a manifest of the same records the synthetic "
                                     "builders write. Audio stays where it is; paths are relative to the "
                                     "manifest's folder and durations come from file headers.")
    parser.add_argument("name", choices=READER_NAMES, help="corpus layout")
    parser.add_argument("root", help="corpus folder (for CVSS: the unpacked cvss_c_fr_en / cvss_t_fr_en release)")
    parser.add_argument("--out", required=True, help="manifest to write (.jsonl; its folder must exist)")
    parser.add_argument("--split", default=None,
                        help="corpus split (cvss: train/dev/test; voicebank-demand: train/train56/test; fsdd: "
                             "all/train/test); default: the first one; vctk and audiomnist have none")
    parser.add_argument("--source-root", default=None,
                        help="Common Voice release folder with clips/ and *.tsv (CVSS source speech)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="skip rows whose audio is missing or unreadable and report them, instead of failing")
    parser.set_defaults(func=_import)
