"""The web app (`diffs2st app`): its service's limits and messages, and the real page driven in headless Chromium
(Debian's chromium + chromium-driver through selenium; nothing is downloaded)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from diffs2st.app import AppLimits, AppService, RequestTimeoutError
from diffs2st.app.make_examples import EXAMPLES_DIR
from diffs2st.errors import AudioError, AudioTooLongError, ConfigError

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FRENCH_EXAMPLE = EXAMPLES_DIR / "fr_tortue_m1.wav"
NOISY_EXAMPLE = EXAMPLES_DIR / "noisy_bateau_f3.wav"


def write_text(path: Path, text: str = "this is not audio\n") -> Path:
    path.write_text(text)
    return path


def test_bundled_examples_are_small_16k_mono_clips():
    clips = sorted(EXAMPLES_DIR.glob("*.wav"))
    assert {p.name.split("_")[0] for p in clips} == {"fr", "noisy"}
    for path in clips:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels) == (16000, 1) and path.stat().st_size < 100_000, path


def test_bad_uploads_get_one_line_messages_naming_the_file(tmp_path):
    service = AppService(AppLimits(translate_max_seconds=2.0))  # nothing is loaded before the input is checked
    with pytest.raises(AudioError, match=r"^French speech: cannot decode notes\.wav as audio"):
        service.translate(write_text(tmp_path / "notes.wav"))
    with pytest.raises(ConfigError, match="no French speech: record one or upload"):
        service.translate(None)
    long_clip = tmp_path / "long.flac"
    sf.write(str(long_clip), 0.1 * np.random.default_rng(0).standard_normal((3 * 22050, 2)), 22050)
    with pytest.raises(AudioTooLongError) as error:
        service.translate(long_clip)
    message = str(error.value)
    assert "long.flac is 3.0 s long, over the limit of 2 s" in message and "--max-seconds" not in message
    assert str(tmp_path) not in message and "\n" not in message
    with pytest.raises(ConfigError, match="steps must be between 1 and 32"):
        service.translate(FRENCH_EXAMPLE, steps=0)
    with pytest.raises(ConfigError, match="unknown method"):
        service.enhance(NOISY_EXAMPLE, "magic")
    with pytest.raises(ConfigError, match="count must be between 1 and 8"):
        service.digits(3, count=9)
    with pytest.raises(ConfigError, match="must be > 0"):
        AppLimits(time_limit_s=0)
    service.close()


def test_time_limit_and_one_request_per_model():
    service = AppService(AppLimits(time_limit_s=0.3))
    service._slots["translator"].load = lambda: time.sleep(4.0) or "model"  # a slow model load
    start = time.perf_counter()
    with pytest.raises(RequestTimeoutError, match="longer than the server's limit of 0.3 s"):
        service.warm_up()
    assert time.perf_counter() - start < 3.0  # the limit cut the request short (wide margin for a loaded CPU)
    deadline = time.monotonic() + 10  # the abandoned load finishes in the background and is kept ...
    while service._slots["translator"].value is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service._use("translator", lambda model: model) == "model"  # ... so the next request reuses it
    service.close()


def test_app_command_parses_without_importing_gradio():
    code = ("import sys; from diffs2st.cli.main import build_parser; "
            "args = build_parser(['app']).parse_args(['app', '--port', '7999']); "
            "print(args.host, args.port, args.max_seconds, 'gradio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "127.0.0.1 7999 60.0 False"


def test_app_command_refuses_a_taken_port_before_loading_models(capsys):
    from diffs2st.cli.main import main

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        start = time.perf_counter()
        code = main(["app", "--port", str(port)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"error: cannot serve on 127.0.0.1:{port}") and "\n" not in err
    assert time.perf_counter() - start < 30  # no translator was loaded


@pytest.mark.slow
def test_page_sends_no_analytics_and_makes_no_share_link(monkeypatch):
    """With GRADIO_ANALYTICS_ENABLED unset (Gradio's default is on), building and launching the page calls none of
    Gradio's analytics or version-check requests, makes no share link and serves on loopback only."""
    import gradio.analytics

    from diffs2st.app.ui import build_app, launch

    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    calls = []
    monkeypatch.setattr(gradio.analytics, "_do_analytics_request", lambda *a, **k: calls.append(("request", a)))
    monkeypatch.setattr(gradio.analytics, "version_check", lambda: calls.append(("version_check",)))
    service = AppService(AppLimits())
    demo = build_app(service)
    try:
        _, local_url, share_url = launch(demo, service.limits, port=free_port(), block=False)
        with urllib.request.urlopen(local_url, timeout=10) as response:
            assert response.status == 200
        assert local_url.startswith("http://127.0.0.1:") and share_url is None
    finally:
        demo.close()
        service.close()
    assert not calls, calls


# ---------------------------------------------------------------------------------------------------------------
# The real page in headless Chromium

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`diffs2st app` in a subprocess on a free loopback port (clips limited to 20 s, uploads to 1 MB); its log must
    hold no traceback at the end."""
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    with open(log, "w") as handle:
        server = subprocess.Popen([sys.executable, "-m", "diffs2st", "app", "--port", str(port), "--max-seconds",
                                   "20", "--max-upload-mb", "1"],
                                  stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"the app exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer within 240 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1100", "--mute-audio",
                 # the microphone: Chromium's fake capture device plays a bundled French clip (looped)
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={FRENCH_EXAMPLE}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


class Page:
    """Helpers over the selenium driver for the app's elements (found by their elem_id)."""

    def __init__(self, driver, url: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.url, self.by, self.wait_class = driver, url, By, WebDriverWait
        driver.get(url)
        self.wait(lambda: self.find("#translate-button"), 60)

    def find(self, selector: str, within: str | None = None):
        scope = self.driver.find_element(self.by.CSS_SELECTOR, within) if within else self.driver
        found = scope.find_elements(self.by.CSS_SELECTOR, selector)
        return found[0] if found else None

    def wait(self, condition, seconds: float = 120):
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

        return self.wait_class(self.driver, seconds, poll_frequency=0.25,
                               ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                               ).until(lambda _: condition())

    def tab(self, name: str) -> None:
        button = self.driver.find_element(self.by.XPATH, f"//button[@role='tab' and normalize-space()='{name}']")
        button.click()
        self.wait(lambda: button.get_attribute("aria-selected") == "true", 10)

    def upload(self, component: str, path: Path) -> None:
        clear = self.find(f"#{component} button[aria-label='Clear']")
        if clear is not None:
            clear.click()
            self.wait(lambda: self.find(f"#{component} input[type=file]"), 10)
        self.find(f"#{component} input[type=file]").send_keys(str(path))

    def status(self, tab: str) -> str:
        return self.find(f"#{tab}-status").text

    def press(self, tab: str, expect: str) -> str:
        """Click the tab's button and wait until its status box starts with ``expect`` (or shows an error)."""
        before = self.status(tab)
        self.find(f"#{tab}-button").click()
        self.wait(lambda: self.status(tab) != before and not self.find(f"#{tab}-status .pending")
                  and self.status(tab).startswith((expect, "Error")))
        return self.status(tab)

    def toasts(self) -> str:
        return " ".join(e.text for e in self.driver.find_elements(self.by.CSS_SELECTOR, "[data-testid='toast-body']"))

    def audio_from(self, component: str) -> tuple[np.ndarray, int]:
        """The audio the page offers for download in ``component``, fetched and decoded."""
        link = self.wait(lambda: self.find(f"#{component} a[data-testid='download-link']"), 30)
        with urllib.request.urlopen(link.get_attribute("href"), timeout=10) as response:
            data, rate = sf.read(io.BytesIO(response.read()), dtype="float32")
        return data, rate

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))


@pytest.fixture(scope="module")
def page(app_url, browser):
    return Page(browser, app_url[0])


def stereo_44k(tmp_path: Path) -> Path:
    """A bundled French clip as a 44.1 kHz stereo FLAC (the app must downmix and resample it)."""
    import soxr

    wave, rate = sf.read(str(FRENCH_EXAMPLE), dtype="float32")
    resampled = soxr.resample(wave, rate, 44100)
    path = tmp_path / "french_stereo_44k.flac"
    sf.write(str(path), np.stack([resampled, 0.8 * resampled], axis=1), 44100)
    return path


@pytest.mark.slow
def test_translate_tab_in_headless_chromium(page, tmp_path):
    page.tab("Translate")
    page.upload("translate-input", stereo_44k(tmp_path))
    status = page.press("translate", "Translated")
    assert status.startswith("Translated"), status
    english = page.find("#translate-english textarea").get_attribute("value")
    french = page.find("#translate-french textarea").get_attribute("value")
    assert english.strip() and french.strip(), (english, french)
    assert "real-time factor" in page.find("#translate-timings").text
    assert page.find("#translate-mels img") is not None
    audio, out_rate = page.audio_from("translate-output")
    assert out_rate == 16000 and audio.size > 0.3 * out_rate and np.abs(audio).max() > 0.01
    page.driver.set_window_size(1400, 1350)  # the whole tab, spectrograms and timings included
    page.screenshot(tmp_path / "translate.png")
    page.driver.set_window_size(1400, 1100)
    # Nothing the page loaded came from another machine.
    resources = page.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    outside = [r for r in resources if not r.startswith((page.url.rstrip("/"), "data:", "blob:"))]
    assert resources and not outside, outside


@pytest.mark.slow
def test_translate_from_the_microphone(page):
    page.tab("Translate")
    clear = page.find("#translate-input button[aria-label='Clear']")
    if clear is not None:
        clear.click()
    page.find("#translate-input button[aria-label='Record audio']").click()
    page.wait(lambda: page.find("#translate-input button.record-button"), 10).click()
    time.sleep(2.5)  # the fake microphone says the clip (1.3 s) and starts it again
    page.find("#translate-input button.stop-button").click()
    page.wait(lambda: page.find("#translate-input a[data-testid='download-link']"), 30)  # the recording, uploaded
    status = page.press("translate", "Translated")
    assert status.startswith("Translated"), status
    assert page.find("#translate-english textarea").get_attribute("value").strip()
    page.find("#translate-input button[aria-label='Upload file']").click()  # back to uploads for the next test


@pytest.mark.slow
def test_translate_tab_bad_input(page, tmp_path):
    page.tab("Translate")
    # A text file is refused by the upload box, and the button then says what is missing.
    page.upload("translate-input", write_text(tmp_path / "notes.txt"))
    page.wait(lambda: "Invalid file type" in page.toasts(), 10)
    assert page.press("translate", "Error").startswith("Error: no French speech")
    # A text file named .wav reaches the server and is refused there; so is a clip over the 20 s limit.
    page.upload("translate-input", write_text(tmp_path / "notes.wav"))
    assert "cannot decode notes.wav as audio" in page.press("translate", "Error")
    wave, rate = sf.read(str(FRENCH_EXAMPLE), dtype="float32")
    long_clip = tmp_path / "long.wav"
    sf.write(str(long_clip), np.tile(wave, int(21 * rate / wave.size) + 1), rate, subtype="PCM_16")  # ~21 s, 0.7 MB
    page.upload("translate-input", long_clip)
    assert "over the limit of 20 s" in page.press("translate", "Error")
    # An upload over the 1 MB limit is refused, with the limit stated.
    large = tmp_path / "large.wav"
    sf.write(str(large), np.tile(wave, int(40 * rate / wave.size) + 1), rate, subtype="PCM_16")  # ~40 s, 1.3 MB
    page.upload("translate-input", large)
    page.wait(lambda: 'exceed the maximum allowed size of 1.0 Mb: "large.wav"' in page.toasts(), 20)
    page.screenshot(tmp_path / "translate-errors.png")


@pytest.mark.slow
def test_enhance_tab_in_headless_chromium(page, tmp_path):
    page.tab("Enhance")
    page.driver.find_element(page.by.XPATH, f"//button[contains(., '{NOISY_EXAMPLE.name}')]").click()  # the example
    page.wait(lambda: page.find("#enhance-input a[data-testid='download-link']"), 30)
    assert page.press("enhance", "Enhanced").startswith("Enhanced"), page.status("enhance")
    enhanced, _ = page.audio_from("enhance-output")
    assert enhanced.size == sf.info(str(NOISY_EXAMPLE)).frames
    assert page.find("#enhance-mels img") is not None
    page.screenshot(tmp_path / "enhance.png")
    page.upload("enhance-input", write_text(tmp_path / "noise.wav"))
    assert "cannot decode noise.wav as audio" in page.press("enhance", "Error")


@pytest.mark.slow
def test_digits_tab_in_headless_chromium(page, tmp_path):
    page.tab("Generate digits")
    for name, value in (("count", "2"), ("steps", "2")):  # two sevens with 2 DDIM steps
        box = page.find(f"#digits-{name} input[type=number]")
        box.clear()
        box.send_keys(value + "\t")
    assert page.press("digits", "Generated").startswith("Generated 2 clip(s)"), page.status("digits")
    assert page.find("#digits-mels img") is not None
    clip, _ = page.audio_from("digits-clip-1")
    assert clip.size > 0 and page.find("#digits-clip-2 audio") is None  # the third player is hidden
    page.screenshot(tmp_path / "digits.png")
