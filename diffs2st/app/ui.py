"""The Gradio page: three tabs (Translate, Enhance, Generate digits) over `AppService`; inputs, outputs and messages
only. Every failure shows as a one-line message in the tab's status box, never as a traceback.

    service = AppService(AppLimits())
    demo = build_app(service)
    launch(demo, service.limits, host="127.0.0.1", port=7860)   # local only: no share link, no analytics
"""

from __future__ import annotations

import logging

import gradio as gr

from ..errors import Diffs2stError
from .make_examples import EXAMPLES_DIR
from .service import (DIGIT_SAMPLERS, ENHANCE_METHODS, MAX_DIGIT_CLIPS, STEP_RANGE, AppLimits, AppService,
                      render_spectrograms)

LOG = logging.getLogger(__name__)


def _message(error: Exception) -> str:
    """The status line for a failed request: the user's mistake, or a pointer to the server log."""
    if isinstance(error, Diffs2stError):
        return f"**Error:** {error}"
    LOG.exception("request failed")
    return f"**Error:** the server failed on this request ({type(error).__name__}); details are in its log"


def _examples(prefix: str) -> list[str]:
    return [str(path) for path in sorted(EXAMPLES_DIR.glob(f"{prefix}*.wav"))]


def _limits_note(limits: AppLimits, seconds: float) -> str:
    return (f"Clips up to {seconds:g} s (any format, sample rate and channel count), uploads up to "
            f"{limits.max_upload_mb:g} MB, {limits.time_limit_s:g} s per request. Everything runs on this machine.")


def _timings_table(timings: dict[str, float], input_seconds: float) -> str:
    rows = [f"| {stage.replace('_', ' ')} | {seconds:.3f} |" for stage, seconds in timings.items()]
    rtf = timings.get("total", 0.0) / max(input_seconds, 1e-9)
    return "\n".join(["| stage | seconds |", "| --- | ---: |", *rows, f"| real-time factor | {rtf:.3f} |"])


def _translate_tab(service: AppService) -> None:
    limits = service.limits
    gr.Markdown("French speech in, English speech out in the same voice (or the voice of a reference clip).")
    with gr.Row():
        with gr.Column():
            source = gr.Audio(sources=["upload", "microphone"], type="filepath", label="French speech",
                              buttons=["download"], elem_id="translate-input")
            voice = gr.Audio(sources=["upload", "microphone"], type="filepath", buttons=["download"],
                             label="Voice reference (optional; default: the French speech itself)",
                             elem_id="translate-voice")
            with gr.Row():
                steps = gr.Slider(*STEP_RANGE["translate"], value=4, step=1, label="Sampling steps")
                guidance = gr.Slider(0.0, 5.0, value=1.0, step=0.1, label="Voice guidance")
            button = gr.Button("Translate", variant="primary", elem_id="translate-button")
            status = gr.Markdown(_limits_note(limits, limits.translate_max_seconds), label="status",
                                 elem_id="translate-status")
            gr.Examples(_examples("fr_"), inputs=[source], label="Examples: French in voices no model trained on")
        with gr.Column():
            english = gr.Audio(label="English speech", type="numpy", interactive=False, buttons=["download"],
                               elem_id="translate-output")
            tgt_text = gr.Textbox(label="English text", interactive=False, elem_id="translate-english")
            src_text = gr.Textbox(label="French transcript", interactive=False, elem_id="translate-french")
            image = gr.Image(label="Log-mel: source and output", show_label=False, type="pil", interactive=False,
                             buttons=["download", "fullscreen"], elem_id="translate-mels")
            timings = gr.Markdown(label="timings", elem_id="translate-timings")

    def run(french_speech, voice_reference, steps, voice_guidance):
        try:
            out = service.translate(french_speech, voice_reference, steps=int(steps),
                                    voice_guidance=float(voice_guidance))
            picture = render_spectrograms([out.source_mel, out.mel], ["source (French)", "output (English)"],
                                          service.mel)
        except Exception as error:  # noqa: BLE001 - every failure becomes a message, never a traceback
            return None, "", "", "", None, _message(error)
        total = out.timings.get("total", 0.0)
        note = f"Translated {out.input_seconds:.2f} s of French in {total:.2f} s."
        return ((out.sample_rate, out.wave), out.tgt_text, out.src_text, _timings_table(out.timings, out.input_seconds),
                picture, note)

    button.click(run, [source, voice, steps, guidance], [english, tgt_text, src_text, timings, image, status],
                 api_name="translate", concurrency_id="compute")


def _enhance_tab(service: AppService) -> None:
    limits = service.limits
    gr.Markdown("Noisy speech in, cleaner speech out: our score model or one of the two baselines.")
    with gr.Row():
        with gr.Column():
            noisy = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Noisy speech",
                             buttons=["download"], elem_id="enhance-input")
            method = gr.Radio(list(ENHANCE_METHODS), value=ENHANCE_METHODS[0], label="Method",
                              elem_id="enhance-method")
            button = gr.Button("Enhance", variant="primary", elem_id="enhance-button")
            status = gr.Markdown(_limits_note(limits, limits.enhance_max_seconds), label="status",
                                 elem_id="enhance-status")
            gr.Examples(_examples("noisy_"), inputs=[noisy], label="Example: French speech in pink noise, 5 dB SNR")
        with gr.Column():
            clean = gr.Audio(label="Enhanced speech", type="numpy", interactive=False, buttons=["download"],
                             elem_id="enhance-output")
            image = gr.Image(label="Log-mel: before and after", show_label=False, type="pil", interactive=False,
                             buttons=["download", "fullscreen"], elem_id="enhance-mels")

    def run(noisy_speech, method_name):
        name = method_name
        try:
            out = service.enhance(noisy_speech, name)
            picture = render_spectrograms([out.noisy_mel, out.mel], ["noisy", f"enhanced ({name})"], service.mel)
        except Exception as error:  # noqa: BLE001
            return None, None, _message(error)
        seconds = out.wave.size / out.sample_rate
        return ((out.sample_rate, out.wave), picture,
                f"Enhanced {seconds:.2f} s with {name} in {out.seconds:.2f} s.")

    button.click(run, [noisy, method], [clean, image, status], api_name="enhance", concurrency_id="compute")


def _digits_tab(service: AppService) -> None:
    gr.Markdown("Spoken digits from the class-conditional diffusion model (classifier-free guidance).")
    with gr.Row():
        with gr.Column():
            digit = gr.Dropdown(["any (0-9 in turn)", *map(str, range(10))], value="7", label="Digit",
                                elem_id="digits-digit")
            count = gr.Slider(1, MAX_DIGIT_CLIPS, value=4, step=1, label="How many", elem_id="digits-count")
            sampler = gr.Radio(list(DIGIT_SAMPLERS), value="ddim", label="Sampler")
            steps = gr.Slider(*STEP_RANGE["digits"], value=25, step=1, label="Sampling steps", elem_id="digits-steps")
            guidance = gr.Slider(0.0, 5.0, value=2.0, step=0.5, label="Guidance weight w")
            button = gr.Button("Generate", variant="primary", elem_id="digits-button")
            status = gr.Markdown(f"Up to {MAX_DIGIT_CLIPS} clips, {service.limits.time_limit_s:g} s per request.",
                                 label="status", elem_id="digits-status")
        with gr.Column():
            image = gr.Image(label="Spectrograms", show_label=False, type="pil", interactive=False,
                             buttons=["download", "fullscreen"], elem_id="digits-mels")
            with gr.Row():
                clips = [gr.Audio(label=f"clip {i + 1}", type="numpy", interactive=False, visible=i == 0,
                                  buttons=["download"], elem_id=f"digits-clip-{i}") for i in range(MAX_DIGIT_CLIPS)]

    def run(digit_choice, how_many, sampler_name, steps, guidance_weight):
        try:
            chosen = None if digit_choice is None or not str(digit_choice).isdigit() else int(digit_choice)
            out = service.digits(chosen, count=int(how_many), sampler=sampler_name, steps=int(steps),
                                 guidance=float(guidance_weight))
            picture = render_spectrograms(out.mels, [f"digit {d}" for d in out.digits], service.mel, columns=4)
        except Exception as error:  # noqa: BLE001
            return (None, _message(error),
                    *[gr.update(value=None, visible=i == 0) for i in range(MAX_DIGIT_CLIPS)])
        updates = [gr.update(value=(out.sample_rate, out.waves[i]), visible=True, label=f"digit {out.digits[i]}")
                   if i < len(out.waves) else gr.update(value=None, visible=False) for i in range(MAX_DIGIT_CLIPS)]
        settings = f"{sampler_name}, {int(steps)} steps, guidance {float(guidance_weight):g}"
        return picture, f"Generated {len(out.waves)} clip(s) ({settings}) in {out.seconds:.2f} s.", *updates

    button.click(run, [digit, count, sampler, steps, guidance], [image, status, *clips], api_name="digits",
                 concurrency_id="compute")


def build_app(service: AppService) -> gr.Blocks:
    """The page; ``service`` holds the models and the limits."""
    with gr.Blocks(title="diffs2st", analytics_enabled=False) as demo:
        gr.Markdown("# diffs2st\nDirect speech-to-speech translation whose English speech keeps the speaker's voice.")
        with gr.Tabs():
            with gr.Tab("Translate", id="translate", elem_id="tab-translate"):
                _translate_tab(service)
            with gr.Tab("Enhance", id="enhance", elem_id="tab-enhance"):
                _enhance_tab(service)
            with gr.Tab("Generate digits", id="digits", elem_id="tab-digits"):
                _digits_tab(service)
    demo.queue(max_size=service.limits.queue_size, default_concurrency_limit=service.limits.concurrency)
    return demo


def launch(demo: gr.Blocks, limits: AppLimits, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serve ``demo`` on ``host``:``port`` with nothing leaving the machine: no share link, no analytics (set on
    the Blocks), no run-history page (it offers to upload runs to a Hugging Face bucket), no server-side rendering
    process, no MCP server, no monitoring page."""
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, show_error=False,
                       max_file_size=int(limits.max_upload_mb * 1024 * 1024), ssr_mode=False, mcp_server=False,
                       enable_monitoring=False, run_history=False, allowed_paths=[str(EXAMPLES_DIR)],
                       prevent_thread_lock=not block, quiet=not block)
