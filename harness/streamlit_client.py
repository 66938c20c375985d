"""A Streamlit session without a browser: the websocket protocol the frontend speaks (protobuf
BackMsg/ForwardMsg over /_stcore/stream), for load tests of many sessions through a load balancer.

A visit fetches the page over HTTP (as a browser does, receiving the balancer's affinity cookie),
opens the session's websocket with that cookie, runs the app and then each further page, and
records which replica answered every request (the balancer's X-Explorer-Replica header).
"""
from __future__ import annotations

import asyncio
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Delta_pb2 import Delta
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPLICA_HEADER = "X-Explorer-Replica"


@dataclass
class Visit:
    replicas: list[str] = field(default_factory=list)  # the replica of each request, in order
    page_seconds: list[float] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # the first heading each page drew
    notices: list[str] = field(default_factory=list)  # the texts of info, warning and error boxes
    elements: list[Counter] = field(default_factory=list)  # per page drawn: element kind ("block:<kind>" for a layout block) -> count
    screens: list[list[Delta]] = field(default_factory=list)  # per page drawn, if kept: its elements and blocks in page order
    images: list[str] = field(default_factory=list)  # the media URL of every picture drawn, in order
    media: dict[str, bytes] = field(default_factory=dict)  # picture URL -> its bytes, when asked to fetch them
    seconds: float = 0.0  # from the first request until the last page was drawn
    reconnects: int = 0
    error: str | None = None


def _cookies(headers: list[str], jar: dict[str, str]) -> None:
    for header in headers:
        parsed = SimpleCookie()
        parsed.load(header)
        jar.update({name: morsel.value for name, morsel in parsed.items()})


def _header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())} if jar else {}


def _fetch(url: str, jar: dict[str, str]) -> tuple[str | None, bytes]:
    """A plain HTTP request with the browser's cookies; (the replica that answered, the body)."""
    request = urllib.request.Request(url, headers=_header(jar))
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        _cookies(response.headers.get_all("Set-Cookie") or [], jar)
        return response.headers.get(REPLICA_HEADER), body


def _get(url: str, jar: dict[str, str]) -> str | None:
    return _fetch(url, jar)[0]


def _draw(screen: dict[tuple[int, ...], Delta], forward: ForwardMsg) -> None:
    """A delta onto `screen` as the frontend draws it. What shows nothing is left out: an emptied
    slot, or a spinner's frames (st.spinner appears only when its work takes long, so only then
    leaves an emptied slot behind)."""
    path = tuple(forward.metadata.delta_path)
    delta = forward.delta
    if delta.WhichOneof("type") == "new_transient" or (
            delta.WhichOneof("type") == "new_element" and delta.new_element.WhichOneof("type") == "empty"):
        screen.pop(path, None)
    else:
        screen[path] = delta


async def _run(socket, query: str, page_hash: str = "", elements: Counter | None = None,
               pictures: list[str] | None = None, page_name: str = "",
               screen: dict[tuple[int, ...], Delta] | None = None,
               longest_s: float = 600) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """Ask for one script run; (exceptions, headings, notices, url path -> page hash) once it has finished
    and no fragment asks to run again by itself (`st.fragment(run_every=…)`, which the client reruns
    as the frontend does, for at most `longest_s`). Each element drawn is counted by kind into
    `elements`, each picture's URL appended to `pictures`; `screen` ends as what the page shows:
    delta path -> the element or block there."""
    message = BackMsg()
    message.rerun_script.query_string = query
    message.rerun_script.page_script_hash = page_hash
    message.rerun_script.page_name = page_name
    await socket.send(message.SerializeToString())
    exceptions, headings, notices, pages = [], [], [], {}
    auto_reruns: dict[str, float] = {}  # fragment id -> seconds between its runs
    shown_hash, shown_query = page_hash, query  # the page and URL shown, as the app last set them
    give_up = time.monotonic() + longest_s
    while True:
        forward = ForwardMsg()
        forward.ParseFromString(await socket.recv())
        kind = forward.WhichOneof("type")
        if kind == "new_session" and not forward.metadata.run.fragment_ids:  # a whole run: drawn anew
            auto_reruns.clear()
            if screen is not None:
                screen.clear()
        elif kind == "auto_rerun":
            auto_reruns[forward.auto_rerun.fragment_id] = forward.auto_rerun.interval
        elif kind == "page_info_changed":
            shown_query = forward.page_info_changed.query_string
        elif kind == "navigation":
            pages = {page.url_pathname: page.page_script_hash for page in forward.navigation.app_pages}
            shown_hash = forward.navigation.page_script_hash
        elif kind == "delta":
            if screen is not None:
                _draw(screen, forward)
            if forward.delta.WhichOneof("type") == "add_block" and elements is not None:
                elements[f"block:{forward.delta.add_block.WhichOneof('type')}"] += 1  # a layout block
            if forward.delta.WhichOneof("type") != "new_element":
                continue
            element = forward.delta.new_element
            if elements is not None:
                elements[element.WhichOneof("type")] += 1
            if pictures is not None and element.WhichOneof("type") == "imgs":
                pictures += [picture.url for picture in element.imgs.imgs]
            if element.WhichOneof("type") == "exception":
                exceptions.append(element.exception.message)
            elif element.WhichOneof("type") == "heading" and element.heading.tag == "h1":
                headings.append(element.heading.body)
            elif element.WhichOneof("type") == "alert":
                notices.append(element.alert.body)
        elif kind == "script_finished" and forward.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            if not auto_reruns or time.monotonic() > give_up:
                return exceptions, headings, notices, pages
            await asyncio.sleep(min(auto_reruns.values()))
            for fragment in auto_reruns:
                again = BackMsg()
                again.rerun_script.query_string = shown_query
                again.rerun_script.page_script_hash = shown_hash
                again.rerun_script.fragment_id = fragment
                again.rerun_script.is_auto_rerun = True
                await socket.send(again.SerializeToString())


async def _fetch_media(base: str, jar: dict[str, str], result: Visit) -> None:
    """The pictures of the run just drawn, while they are still served."""
    for picture in result.images:
        if picture not in result.media:
            result.media[picture] = (await asyncio.to_thread(_fetch, base + picture, jar))[1]


async def visit(base: str, query: str, pages: list[str], pause_s: float = 0.0,
                page_queries: list[str] | None = None, fetch_media: bool = False, start: str = "",
                keep_screens: bool = False) -> Visit:
    """Open the app at `base`/`start` with `query`, then each of `pages` (url paths; "" is the main
    page) in the same session, with `page_queries[i]` instead of `query` where given, fetching the pictures
    while the session is open if asked (Streamlit drops them with the session); after a dropped
    connection (its replica died) reconnect once, as the browser does."""
    result = Visit()
    jar: dict[str, str] = {}
    began = time.perf_counter()
    for attempt in range(2):
        try:
            # the page itself first; after a dropped connection, the health check the frontend polls
            first = f"{base}/{start}?{query}" if attempt == 0 else f"{base}/_stcore/health"
            result.replicas.append(await asyncio.to_thread(_get, first, jar))
            uri = base.replace("http", "ws", 1) + "/_stcore/stream"
            async with websockets.connect(uri, subprotocols=["streamlit"], max_size=2**26, open_timeout=60,
                                          additional_headers=_header(jar)) as socket:
                _cookies(socket.response.headers.get_all("Set-Cookie"), jar)
                result.replicas.append(socket.response.headers.get(REPLICA_HEADER))

                async def draw(page_query: str, page_hash: str = "", page_name: str = "") -> dict[str, str]:
                    """One page drawn on this session's socket, noted in `result`; the pages' hashes."""
                    began_page = time.perf_counter()
                    result.elements.append(Counter())
                    screen: dict[tuple[int, ...], Delta] | None = {} if keep_screens else None
                    exceptions, headings, notices, hashes = await _run(socket, page_query, page_hash,
                                                                       result.elements[-1], result.images,
                                                                       page_name, screen)
                    if screen is not None:
                        result.screens.append([screen[path] for path in sorted(screen)])
                    result.page_seconds.append(time.perf_counter() - began_page)
                    result.exceptions += exceptions
                    result.titles += headings[:1]
                    result.notices += notices
                    if fetch_media:
                        await _fetch_media(base, jar, result)
                    return hashes

                hashes = await draw(query, page_name=start)
                for index, page in enumerate(pages):
                    await asyncio.sleep(pause_s)
                    await draw(page_queries[index] if page_queries else query, hashes.get(page, ""))
            result.error = None
            result.seconds = time.perf_counter() - began
            return result
        except (websockets.WebSocketException, ConnectionError, OSError) as error:  # closed, refused, 503
            result.reconnects += 1
            result.error = f"{type(error).__name__}: {error}"
    return result
