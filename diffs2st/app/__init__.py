"""`diffs2st app`: a local web page (Gradio) to translate French speech into English in the same voice, enhance
noisy speech and generate spoken digits, thin over the library calls the CLI makes.

`service.AppService` holds the models and limits and does the work (no web framework); `ui.build_app` builds the
page over it and `ui.launch` serves it on localhost (importing `ui` imports gradio, the `app` extra).
"""

from .service import AppLimits, AppService, RequestTimeoutError

__all__ = ["AppLimits", "AppService", "RequestTimeoutError"]
