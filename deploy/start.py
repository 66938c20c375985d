"""`python -m deploy.start run app.py [streamlit options]`: `streamlit run`, and beside it, in a
background thread, what the first sessions will ask for (explorer/ui/warmup.py). The thread imports
the app itself, so Streamlit's start and its health check do not wait for those imports. How every
server of the app starts: `make run`, the replicas of deploy/serve.py, the container."""
from __future__ import annotations

import sys
import threading
import time

WARMED = "CNN Explorer warmed in"  # the log line that says the warm-up is done


def _warm() -> None:
    started = time.perf_counter()
    from explorer.ui import warmup  # here, not at the top: importing the app takes seconds

    network, sample = warmup.warm()
    print(f"{WARMED} {time.perf_counter() - started:.1f} s (imports included): {network}, the residual/plain "
          f"twins and the lecture's five networks on the sample {sample}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> None:
    # Streamlit, its server and pandas first, then the thread: two threads importing into the same
    # import cycle can hand one of them a half-initialised module (plotly, set up by Streamlit, looks
    # pandas up if it is in sys.modules: "partially initialized module 'pandas'" killed a replica).
    import pandas  # noqa: F401
    from streamlit.web import bootstrap, cli  # noqa: F401  (what cli.main runs: the server and its
    from streamlit.web.server.starlette import starlette_server  # noqa: F401  Starlette app, imported late)

    threading.Thread(target=_warm, name="explorer-warm-up", daemon=True).start()
    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
