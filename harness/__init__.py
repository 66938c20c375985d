"""What the tests and the benchmarks share, and neither the app nor its core imports: paths,
AppTest driving (`apptest`), a real server and Chromium (`browser`), Streamlit's websocket
protocol (`streamlit_client`), this machine's memory (`memory`) and the CLI (`cli`)."""
