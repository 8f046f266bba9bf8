"""Load test of the web app on loopback: N Translate requests at once through gradio_client; all must succeed and
the app must stay up. Reports latency (request sent -> answer received) p50/p95/max, the server's compute time per
request, and one request alone before the burst for comparison.

    python benchmarks/app_load.py --requests 10 --out docs/benchmarks/app [--concurrency 1] [--threads 2]

Starts `diffs2st app` itself on a free 127.0.0.1 port (or uses --url, which must be a loopback address) and stops
it afterwards. Writes app.json (every request) and app.md (the summary with this command).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from diffs2st.app.make_examples import EXAMPLES_DIR
from diffs2st.audio.io import atomic_write_bytes
from diffs2st.reports import report_heading

DEFAULT_CLIP = EXAMPLES_DIR / "fr_tortue_m1.wav"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_loopback(url: str) -> None:
    host = urllib.parse.urlparse(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"error: {url} is not a loopback address; this load test only runs against this machine")


def wait_until_up(url: str, server: subprocess.Popen | None, seconds: float = 300) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if server is not None and server.poll() is not None:
            sys.exit(f"error: the app exited with status {server.returncode}")
        if is_up(url):
            return time.perf_counter() - start
        time.sleep(0.5)
    sys.exit(f"error: the app did not answer within {seconds:g} s")


def is_up(url: str) -> bool:
    """A health check of the app under test: ``url`` is on this machine (`require_loopback`), nothing is fetched."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def translate_once(client, clip: Path, steps: int) -> dict:
    """One Translate request through the app's API; the outcome and its timing."""
    from gradio_client import handle_file

    sent = time.perf_counter()
    try:
        audio, english, french, _, _, status = client.predict(handle_file(str(clip)), None, steps, 1.0,
                                                              api_name="/translate")
    except Exception as error:  # noqa: BLE001 - a failed request is a result here, reported and counted
        return {"ok": False, "latency_s": time.perf_counter() - sent, "error": f"{type(error).__name__}: {error}"}
    latency = time.perf_counter() - sent
    compute = re.search(r"in ([0-9.]+) s\.$", status or "")
    seconds = sf.info(audio).duration if audio and Path(audio).is_file() else 0.0
    ok = bool(status and status.startswith("Translated") and english and seconds > 0)
    return {"ok": ok, "latency_s": latency, "compute_s": float(compute.group(1)) if compute else None,
            "english": english, "french": french, "output_seconds": seconds, "status": status}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10, help="Translate requests sent at once")
    parser.add_argument("--clip", default=str(DEFAULT_CLIP), help="French clip every request sends")
    parser.add_argument("--steps", type=int, default=4, help="sampling steps of each request")
    parser.add_argument("--concurrency", type=int, default=1, help="the app's --concurrency")
    parser.add_argument("--threads", type=int, default=0, help="the app's --threads (0: torch's default)")
    parser.add_argument("--url", default=None, help="an app already running on this machine (default: start one)")
    parser.add_argument("--out", required=True, help="folder for app.json and app.md")
    args = parser.parse_args()
    if not 1 <= args.requests <= 64:
        sys.exit("error: --requests must be 1-64 (a bounded load test)")
    # gradio_client's Client sends a telemetry ping on creation unless this variable says False, whatever its
    # analytics_enabled argument (gradio_client 2.x reads `argument or env == "True"`); this script's process only.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    from gradio_client import Client

    command = "python benchmarks/app_load.py " + shlex.join(sys.argv[1:])
    server, log = None, None
    url = args.url
    if url is None:
        url = f"http://127.0.0.1:{free_port()}/"
        log = tempfile.NamedTemporaryFile("w+", prefix="app-load-", suffix=".log", delete=False)
        port = urllib.parse.urlparse(url).port
        server = subprocess.Popen([sys.executable, "-m", "diffs2st", "app", "--port", str(port), "--concurrency",
                                   str(args.concurrency), "--threads", str(args.threads),
                                   "--queue-size", str(max(32, args.requests))],
                                  stdout=log, stderr=subprocess.STDOUT)
    require_loopback(url)
    try:
        startup = wait_until_up(url, server)
        client = Client(url, verbose=False, analytics_enabled=False)
        clip = Path(args.clip)
        alone = translate_once(client, clip, args.steps)  # after the app's own warm-up: one request, no queue
        load_before = os.getloadavg()
        barrier = threading.Barrier(args.requests)

        def burst_request(_):
            barrier.wait()  # all requests leave together
            return translate_once(client, clip, args.steps)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.requests) as pool:
            rows = list(pool.map(burst_request, range(args.requests)))
        wall = time.perf_counter() - start
        up_after = is_up(url) and (server is None or server.poll() is None)
        after = translate_once(client, clip, args.steps) if up_after else {"ok": False}
        load_after = os.getloadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    latencies = [r["latency_s"] for r in rows]
    computes = [r["compute_s"] for r in rows if r.get("compute_s") is not None]
    summary = {
        "requests": args.requests, "succeeded": sum(r["ok"] for r in rows),
        "app_up_after": bool(up_after and after["ok"]),
        "latency_p50_s": percentile(latencies, 50), "latency_p95_s": percentile(latencies, 95),
        "latency_max_s": max(latencies), "burst_wall_s": wall,
        "compute_mean_s": float(np.mean(computes)) if computes else float("nan"),
        "alone_latency_s": alone["latency_s"], "alone_compute_s": alone.get("compute_s"),
        "input_seconds": sf.info(str(clip)).duration, "startup_s": startup,
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    cores = len(os.sched_getaffinity(0))
    meta = {"command": command, "cores": cores, "cpus": os.cpu_count(), "clip": str(clip), "steps": args.steps,
            "concurrency": args.concurrency, "threads": args.threads, "url": url}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "app.json", json.dumps({"summary": summary, "meta": meta, "alone": alone,
                                                     "after": after, "requests": rows}, indent=2,
                                                    ensure_ascii=False).encode())
    english = sorted({r.get("english") for r in rows if r.get("english")})
    lines = report_heading("Web app load test: concurrent Translate requests on loopback", command) + [
        f"{args.requests} Translate requests sent at once through `gradio_client` to `diffs2st app` "
        f"(`--concurrency {args.concurrency}`: requests are computed one at a time and wait in the Gradio queue), "
        f"each a {summary['input_seconds']:.2f} s French clip ({clip.name}) with {args.steps} sampling steps; the "
        f"app and the client ran on {cores} of this machine's {os.cpu_count()} CPU cores (their affinity), shared "
        f"with other work (1-minute load average "
        f"{load_before[0]:.1f} before the burst, {load_after[0]:.1f} after). Latency is from sending a request to "
        "receiving its answer (upload, queue wait, computation, spectrogram and download included).",
        "",
        "| metric | value |",
        "| --- | ---: |",
        f"| requests succeeded | {summary['succeeded']} / {args.requests} |",
        f"| app up and answering afterwards | {'yes' if summary['app_up_after'] else 'NO'} |",
        f"| latency p50 | {summary['latency_p50_s']:.2f} s |",
        f"| latency p95 | {summary['latency_p95_s']:.2f} s |",
        f"| latency max | {summary['latency_max_s']:.2f} s |",
        f"| whole burst (wall) | {wall:.2f} s |",
        f"| server compute per request (mean) | {summary['compute_mean_s']:.2f} s |",
        f"| one request alone, before the burst | {alone['latency_s']:.2f} s (compute {alone.get('compute_s')} s) |",
        f"| app start-up (models loaded, warm-up translation) | {startup:.1f} s |",
        "",
        f"English text of the answers: {'; '.join(english) if english else '(none)'}",
        "",
    ]
    atomic_write_bytes(out / "app.md", "\n".join(lines).encode())
    print("\n".join(lines))
    if summary["succeeded"] != args.requests or not summary["app_up_after"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
