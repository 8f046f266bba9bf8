"""`diffs2st app`: serve the local web page (Translate, Enhance, Generate digits) on this machine."""

from __future__ import annotations

import ipaddress
import socket

from ..errors import ConfigError, Diffs2stError
from .main import add_command


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Fail before the models load when ``host``:``port`` cannot be served (taken, or not an address here)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise Diffs2stError(f"cannot serve on {host}:{port} ({error.strerror or error}); choose another --port "
                            "or --host") from None


def _run(args) -> int:
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be 1-65535, got {args.port}")
    _check_port(args.host, args.port)
    try:
        import gradio  # noqa: F401  (only this command needs it)
    except ImportError:
        raise Diffs2stError("the web app needs the 'app' extra: pip install -e '.[app]' (or make setup)") from None
    import torch

    from ..app import AppLimits, AppService
    from ..app.make_examples import EXAMPLES_DIR
    from ..app.ui import build_app, launch

    if args.threads:
        torch.set_num_threads(args.threads)  # the process is ours here: the command line owns its threads
    limits = AppLimits(translate_max_seconds=args.max_seconds, enhance_max_seconds=args.max_seconds,
                       max_upload_mb=args.max_upload_mb, time_limit_s=args.time_limit, concurrency=args.concurrency,
                       queue_size=args.queue_size)
    service = AppService(limits, model_dir=args.model)
    if not _is_loopback(args.host):
        print(f"warning: serving on {args.host}: other machines on the network can open the page")
    print("loading the translator ...", flush=True)
    service.warm_up(next(iter(sorted(EXAMPLES_DIR.glob("fr_*.wav"))), None))
    print(f"diffs2st app on http://{'127.0.0.1' if args.host == '0.0.0.0' else args.host}:{args.port} "
          "(Ctrl+C stops it)", flush=True)
    try:
        launch(build_app(service), limits, host=args.host, port=args.port)
    except OSError as error:
        raise Diffs2stError(f"cannot serve on {args.host}:{args.port} ({error})") from None
    finally:
        service.close()
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "app", "local web page: translate, enhance, generate digits (localhost only)",
                         "Serve the diffs2st web app (Gradio) on this machine: Translate (microphone or upload -> "
                         "English speech in the same voice), Enhance, Generate digits. No share link, no analytics.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port to serve on")
    parser.add_argument("--model", default=None,
                        help="folder with the direct S2ST components (direct-st/ or st/, speaker-encoder/, "
                             "synthesizer/, vocoder/); default: the bundled folder ($DIFFS2ST_PRETRAINED or "
                             "pretrained/)")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="longest clip accepted on Translate and Enhance, in seconds")
    parser.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload accepted, in MB")
    parser.add_argument("--time-limit", type=float, default=120.0, help="wall-time limit of one request, in seconds")
    parser.add_argument("--concurrency", type=int, default=1, help="requests computed at once (all tabs together)")
    parser.add_argument("--queue-size", type=int, default=32, help="requests that may wait; more are refused")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.set_defaults(func=_run)
