"""The web app: one FastAPI server with the Gradio UI mounted at / and the REST API under /api.

    assistant serve [--host 127.0.0.1] [--port 7860]

One Assistant is loaded per process and serves the Clinician, Patient and Evaluation tabs, the REST
routes (assistant.web.rest) and the Gradio endpoint "/ask" (gradio_client). Nothing is fetched from the
internet: analytics are off, the fonts are Gradio's bundled ones plus local system fonts.
Login: set ASSISTANT_AUTH to "user:pass,user2:pass2" or to a file with one user:pass per line; the UI
then asks for a login and the REST routes want HTTP Basic credentials, except GET /api/health (for load
balancers; with login on it reports only status, index version and counts). Repeated failed logins, UI or
REST, are throttled per client address and user name (assistant.web.rest.LoginThrottle; Settings.login_*).
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from ..accounts import parse_auth  # noqa: E402 - Settings.auth (with roles) is parsed there
from ..config import Settings  # noqa: E402
from .render import CSS, HEAD  # noqa: E402


# ----------------------------------------------------------------------------------------- app
def create_app(assistant, auth: list[tuple[str, str]] | None = None, eval_dir: Path | None = None):
    """FastAPI app: REST routes first, then the Gradio Blocks mounted at /."""
    import gradio as gr
    from fastapi import FastAPI

    from . import exports as exports_mod
    from . import openai_api, rest
    from .ui import build_ui

    app = FastAPI(title="Clinical guideline assistant", docs_url="/api/swagger", openapi_url="/api/openapi.json",
                  redoc_url=None)
    throttle = rest.LoginThrottle.from_settings(getattr(assistant, "settings", None), auth) if auth else None
    rest.install(app, assistant, auth, throttle)
    openai_api.install(app, assistant, auth, throttle)  # /v1/chat/completions, /v1/models
    store = exports_mod.ExportStore()  # private, one download per export, removed at exit
    exports_mod.install(app, store)
    app.state.exports = store
    blocks = build_ui(assistant, eval_dir=eval_dir, exports=store, accounts=auth)
    ui_auth = rest.ui_login(auth, throttle) if auth else None  # the same users and throttle as REST
    app = gr.mount_gradio_app(app, blocks, path="/", auth=ui_auth, ssr_mode=False, css=CSS, head=HEAD,
                              footer_links=["api"], mcp_server=False,
                              auth_message="临床指南助手 / Guideline assistant: please log in")
    # Gradio checks that a file given to an input was uploaded (not any server path named in the request)
    # only once it believes it has launched; mounted on our own server it never "launches", so say it has.
    blocks.has_launched = True
    return app


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 7860) -> None:
    import uvicorn

    from ..api import Assistant

    settings = settings or Settings.load()
    auth = parse_auth(settings.auth)
    assistant = Assistant.load(settings)  # once per process: every tab and route shares it
    app = create_app(assistant, auth)
    print(f"guideline assistant on http://{host}:{port}/ (REST: /api/ask, /api/health, /v1/chat/completions; "
          f"login {'on' if auth else 'off'})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level,
                timeout_graceful_shutdown=settings.shutdown_grace_s)
