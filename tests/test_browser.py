"""Main journeys in real headless Chromium against `streamlit run`."""
import itertools
import math
import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness import browser
from harness.paths import ROOT, SAMPLES

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    with browser.streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    with browser.chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(context, server):
    """A session on AlexNet, the lecture's first network (a first visit opens a trained one)."""
    page = context.new_page()
    page.goto(f"{server}/?net=alexnet")
    page.wait_for_selector("[data-testid='stSidebar']", timeout=120_000)
    browser.wait_idle(page)
    yield page
    page.close()


def _upload_through_the_file_dialog(page, sample: str) -> None:
    """As a person does it: Upload, the uploader's Browse button, a file picked in the dialog."""
    with page.expect_file_chooser() as chooser:
        page.locator(".st-key-image_source").get_by_text("Upload", exact=True).click()
        browser.wait_idle(page)
        page.locator(".st-key-upload").get_by_test_id("stBaseButton-secondary").click()
    chooser.value.set_files(str(SAMPLES / sample))
    browser.wait_idle(page)


def test_upload_see_predictions_switch_network_and_open_every_page(page, artifacts):
    _upload_through_the_file_dialog(page, "coffee.jpg")
    page.get_by_text("Mean-subtracted input").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert "coffee.jpg" in page.inner_text("[data-testid='stMain']")
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "home-upload.png"), full_page=True)

    browser.choose(page, "Network", "ResNet-50")
    page.get_by_role("heading", name="ResNet-50").wait_for()
    assert "coffee.jpg" in page.inner_text("[data-testid='stMain']")  # the image survived
    page.screenshot(path=str(artifacts / "home-resnet50.png"), full_page=True)

    links = page.locator("[data-testid='stSidebarNav'] a")
    names = links.all_inner_texts()
    page_files = list((ROOT / "pages").glob("*.py"))
    assert len(names) == (len(page_files) if len(page_files) > 1 else 0)  # one page: no menu
    for index, name in enumerate(names):
        links.nth(index).click()
        browser.wait_idle(page)
        assert not browser.exceptions(page), name
        slug = re.sub(r"[^a-z0-9]+", "-", name.splitlines()[-1].lower()).strip("-")
        page.screenshot(path=str(artifacts / f"page-{slug}.png"), full_page=True)


def test_a_first_visit_shows_a_trained_network_on_the_cat(context, server, artifacts):
    page = context.new_page()
    page.goto(server)
    page.get_by_role("heading", name="EfficientNet-Lite0").wait_for(timeout=120_000)
    browser.wait_idle(page)
    page.locator(".js-plotly-plot").first.get_by_text("tabby", exact=False).first.wait_for()
    text = page.inner_text("[data-testid='stMain']")
    assert "runs with untrained" not in text and "net=efficientnet_lite0" in page.url and not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "first-visit-efficientnet-lite0.png"), full_page=True)
    page.close()


def test_a_text_file_named_jpg_gets_a_friendly_message(page, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    page.locator(".st-key-image_source").get_by_text("Upload", exact=True).click()
    browser.wait_idle(page)
    page.locator(".st-key-upload [data-testid='stFileUploaderDropzoneInput']").set_input_files(str(fake))
    browser.wait_idle(page)
    alert = page.locator("[data-testid='stAlert']").filter(has_text="not an image")
    alert.wait_for()
    assert not browser.exceptions(page)
    page.get_by_text("Mean-subtracted input").wait_for()  # the sample still shows


def test_activations_journey_steps_through_layers_and_overlays_a_channel(page, artifacts):
    _upload_through_the_file_dialog(page, "cat.jpg")
    page.locator("[data-testid='stSidebarNav'] a", has_text="Activations").click()
    browser.wait_idle(page)
    page.get_by_role("heading", name="Activations · AlexNet (torchvision)").wait_for()
    for expected in ["relu1", "pool1", "conv2", "relu2", "pool2"]:
        page.get_by_role("button", name="▶").click()
        browser.wait_idle(page)
        assert f"{expected} · kind" in page.inner_text("[data-testid='stMain']")
    page.get_by_text("The map upsampled onto the input").wait_for()
    assert "pool2" in page.inner_text("[data-testid='stMain']")
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "activations-alexnet-pool2.png"), full_page=True)


def open_page(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).click()
    browser.wait_idle(page)


def test_inception_journey(page, artifacts):
    browser.choose(page, "Network", "GoogLeNet (2014 paper)")
    open_page(page, "Inception branches")
    page.get_by_role("heading", name="Inception branches · GoogLeNet (2014 paper)").wait_for()
    page.get_by_text("Why the 1×1 reductions").wait_for()
    page.get_by_role("button", name="▶").first.click()
    browser.wait_idle(page)
    assert "inception_3b" in page.inner_text("[data-testid='stMain']")
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "inception-googlenet-paper-3b.png"))


def test_gradient_flow_journey(page, artifacts):
    open_page(page, "Gradient flow")
    page.get_by_role("heading", name="Gradient flow: residual vs plain").wait_for()
    page.get_by_text("Residual / plain").wait_for()
    page.get_by_text("batch statistics (train mode)", exact=True).click()
    browser.wait_idle(page)
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "gradient-flow-34-train.png"))


def test_compare_journey(page, artifacts):
    """The page is drawn before the passes that estimate a latency measurement are timed (in the
    background); the estimate then appears by itself."""
    from playwright.sync_api import expect

    open_page(page, "Compare")
    page.get_by_role("heading", name="Compare architectures").wait_for()
    page.get_by_text("The same image through every network").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    expect(page.get_by_text("Measuring the 5 network(s) not yet measured takes about")).to_be_visible(timeout=120_000)
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "compare-lectures-five.png"))


def test_attribution_journey(page, artifacts):
    browser.choose(page, "Network", "ResNet-18")
    open_page(page, "Attribution")
    page.get_by_role("heading", name="Attribution · ResNet-18").wait_for()
    page.get_by_text("Grad-CAM ·", exact=False).first.wait_for()
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "attribution-resnet18.png"))


def test_every_slide_by_arrow_key_in_presenter_mode(page, artifacts):
    """The lecturer opens the slide controls, turns presenter mode on and steps with → through the
    whole deck and back with ←: the controls stay open, presenter mode stays on throughout, no
    label is cut or covered at 1366×768, and a reload keeps the slide and presenter mode."""
    from playwright.sync_api import expect

    from explorer.ui.slides import SLIDES

    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_text("Lecture: slides and presenter mode").first.click()
    page.get_by_text("Presenter mode", exact=True).first.click()
    browser.wait_idle(page)
    page.get_by_role("heading").first.click()  # keys typed into the switch would not reach the page
    prose = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p:not([data-testid='stMetricLabel'] p)")
    steps = [("ArrowRight", index) for index in range(len(SLIDES))] + [("ArrowLeft", len(SLIDES) - 2)]
    found = {}
    for key, index in steps:
        page.keyboard.press(key)
        expect(page.get_by_text(f"Slide {index + 1} of {len(SLIDES)}").first).to_be_visible(timeout=180_000)
        browser.wait_idle(page)
        expect(page.get_by_role("switch", name="Presenter mode").first).to_be_checked()
        expect(prose.first).to_have_css("font-size", "21px")  # presenter mode's text size, on every slide
        assert not browser.exceptions(page), index
        if SLIDES[index].subject:  # scrolled to what the slide is about
            expect(page.locator(f".st-key-{SLIDES[index].subject}")).to_be_in_viewport(timeout=30_000)
        problems = browser.layout_problems(page)
        if problems:
            found[index + 1] = problems
        page.screenshot(path=str(artifacts / f"slide-{index + 1}-{key}.png"))
    page.reload()  # presenter mode and the slide come back from the URL
    expect(page.get_by_text(f"Slide {len(SLIDES) - 1} of {len(SLIDES)}").first).to_be_visible(timeout=180_000)
    expect(prose.first).to_have_css("font-size", "21px")
    assert found == {}, found


def test_a_deep_permalink_to_a_fresh_server_opens_its_view(context, artifacts):
    """The first request of a new server used to run the page file without app.py; the link
    carries the page, network, sample, language and layer."""
    with browser.streamlit_server() as url:
        fresh = context.new_page()
        fresh.goto(f"{url}/activations?net=vgg16&img=Rocket&lang=zh&tap=conv3_1")
        fresh.get_by_role("heading", name="激活图 · VGG16").wait_for(timeout=180_000)
        browser.wait_idle(fresh)
        assert not browser.exceptions(fresh)
        assert "**conv3_1**" not in fresh.inner_text("[data-testid='stMain']")
        assert "conv3_1 · 类型" in fresh.inner_text("[data-testid='stMain']")
        assert all(part in fresh.url for part in ("net=vgg16", "img=Rocket", "lang=zh", "tap=conv3_1"))
        fresh.screenshot(path=str(artifacts / "deep-link-activations-vgg16-zh.png"), full_page=True)


def test_switching_to_chinese_translates_the_app_and_the_link(page, artifacts):
    page.locator(".st-key-lang").get_by_text("中文").click()
    browser.wait_idle(page)
    page.get_by_text("网络眼中的输入").wait_for()
    assert "lang=zh" in page.url
    page.screenshot(path=str(artifacts / "home-zh.png"))
    assert "猫" in page.locator(".st-key-sample").inner_html()  # choices relabelled, not stale
    assert page.locator(".st-key-image_source input[type='radio']").first.is_checked()
    open_page(page, "参数与 FLOPs")
    page.get_by_role("heading", name="参数与 FLOPs · AlexNet (torchvision)").wait_for()
    assert not browser.exceptions(page)
    page.screenshot(path=str(artifacts / "costs-zh.png"), full_page=True)
    page.locator(".st-key-lang").get_by_text("English").click()
    browser.wait_idle(page)
    page.get_by_role("heading", name="Parameters & FLOPs · AlexNet (torchvision)").wait_for()


ENGLISH_PROSE = re.compile(r"\b[A-Za-z]{3,}(?:[ -][A-Za-z]{2,}){2,}\b")  # three English words in a row


def _english_prose(text: str) -> list[str]:
    """Runs of English words in `text`, apart from citations (paper titles and authors are cited as
    published: the networks' papers, and any title in 《》, Chinese's marks for a cited work)."""
    from explorer import zoo

    cited = " ".join(f"{spec.paper.title} {spec.paper.authors}" for spec in zoo.REGISTRY.values())
    return [run for run in ENGLISH_PROSE.findall(re.sub(r"《[^》]*》", "", text)) if run not in cited]


def test_the_chinese_ui_shows_no_english_prose(context, server, artifacts):
    """Every page in 中文, read as a person sees it (plots included): no run of English words."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(f"{server}/?net=alexnet2012&lang=zh")
    browser.wait_idle(page)
    ticks = page.locator(".js-plotly-plot .ytick text")  # Home's one chart: "虎斑猫 (281)"
    expect(ticks).to_have_count(5, timeout=60_000)  # plotly's code loads after the script has finished
    top5 = ticks.all_text_contents()
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in top5), top5
    links = page.locator("[data-testid='stSidebarNav'] a")
    found = {}
    for index in range(links.count()):
        links.nth(index).click()
        browser.wait_idle(page)
        main = page.locator("[data-testid='stMain']")
        text = main.inner_text() + "\n" + page.locator("[data-testid='stSidebar']").inner_text()
        runs = _english_prose(text)
        if runs:
            found[page.url] = runs
            page.screenshot(path=str(artifacts / f"zh-prose-{index}.png"))
    page.close()
    assert found == {}


def test_the_chinese_lecture_reads_in_chinese_on_every_tab(context, server, artifacts):
    """A lecturer teaching from the 中文 notes opens the Lecture in 中文 at 1366×768 and clicks
    through its tabs: each tab's cards are measured and drawn (a verdict badge each), in Chinese
    only; a screenshot of each tab is kept for a person to look at."""
    from playwright.sync_api import expect

    from explorer import lecture

    page = context.new_page()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{server}/lecture?net=alexnet2012&lang=zh")
    browser.wait_idle(page)
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(len(lecture.SECTIONS))
    found = {}
    for index, section in enumerate(lecture.SECTIONS):
        if index:
            tabs.nth(index).click()
            browser.wait_idle(page)
        panel = page.get_by_role("tabpanel")  # the open one: the others are hidden
        expect(panel).to_contain_text("实测：")  # its cards, each saying what was measured
        expect(tabs.nth(index)).to_have_attribute("aria-selected", "true")
        runs = _english_prose(panel.inner_text() + "\n" + tabs.nth(index).inner_text())
        if runs:
            found[section] = runs
        browser.screenshot_whole_page(page, artifacts / f"lecture-zh-{section}.png")
        page.set_viewport_size({"width": 1366, "height": 768})
    assert not browser.exceptions(page)
    page.close()
    assert found == {}


SCREENS = {"laptop": (1366, 768), "projector": (1920, 1080)}
# each page with the network a lecturer shows it with
PAGE_VIEWS = [("", "alexnet2012"), ("activations", "alexnet2012"), ("costs", "alexnet"), ("inception", "inception_v3"),
              ("gradient_flow", "resnet34"), ("compare", "alexnet"), ("efficient", "squeezenet1_1"),
              ("attribution", "resnet18"), ("lecture", "resnet50"), ("features", "efficientnet_lite0&tap=stage4.1"),
              ("graph", "googlenet"), ("activations", "googlenet"), ("activations", "resnet50"),
              ("gradient_flow", "googlenet"),
              ("compare", "alexnet&nets=alexnet,vgg16,googlenet,resnet50,squeezenet1_1,mobilenet_v2,"
                          "shufflenet_v2_x1_0,efficientnet_lite0")]


@pytest.mark.parametrize("screen", SCREENS)
def test_every_page_reads_at_laptop_and_projector_sizes(context, server, artifacts, screen):
    """Each page at 1366×768 and 1920×1080: no sideways scrolling, no chart label cut off or over
    another; the full-page screenshots are for a person to look at (tests/artifacts/screens/)."""
    width, height = SCREENS[screen]
    folder = artifacts / "screens"
    folder.mkdir(exist_ok=True)
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    found = {}
    for path, network in PAGE_VIEWS:
        page.goto(f"{server}/{path}?net={network}")
        page.wait_for_selector("[data-testid='stSidebar']", timeout=120_000)
        browser.wait_idle(page)
        page.locator("[data-testid='stMain'] h1").first.wait_for()
        assert not browser.exceptions(page), path
        problems = browser.layout_problems(page)
        if problems:
            found[f"{path or 'home'}?net={network}"] = problems
        name = f"{screen}-{path or 'home'}-{network.split('&')[0]}{'-eight' if 'nets=' in network else ''}"
        browser.screenshot_whole_page(page, folder / f"{name}.png")
        page.set_viewport_size({"width": width, "height": height})
    page.close()
    assert found == {}, "\n".join(f"{view}: {problem}" for view, problems in found.items() for problem in problems)


def test_feature_visualisation_journey(page, artifacts):
    """A student opens what four channels of a trained network look for, optimises them, and sees
    each picture beside where the channel fired in the cat photo."""
    from playwright.sync_api import expect

    url = page.url.split("?")[0].rstrip("/")
    page.goto(f"{url}/features?net=efficientnet_lite0&img=Cat&tap=stage4.1&ch=3,17,20,30&steps=64&size=128")
    page.get_by_role("heading", name="What channels look for · EfficientNet-Lite0").wait_for(timeout=120_000)
    browser.wait_idle(page)
    page.get_by_role("button", name="Optimise").click()
    expect(page.get_by_text("What it looks for")).to_have_count(4, timeout=180_000)
    expect(page.get_by_text("Where it fired in your image")).to_have_count(4)
    browser.wait_idle(page)
    assert not browser.exceptions(page) and "ch=3%2C17%2C20%2C30" in page.url
    assert browser.layout_problems(page) == []
    browser.screenshot_whole_page(page, artifacts / "features-efficientnet-lite0-stage4.png")


def _server_cpu_seconds(server: str) -> float:
    with open(f"/proc/{browser.server_pid(server)}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_a_long_run_stops_within_two_seconds_of_its_tab_closing(context, server):
    """A student starts a 256-step run of four VGG16 pictures (about 0.9 s a step here) and closes
    the tab: the server stops working on it at the next step (it used to go on for ~24 s, the
    page reporting every fourth step; now every step, and a step is at most 2 s)."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(f"{server}/features?net=vgg16&img=Cat&tap=relu5_3&ch=0,1,2,3&steps=256&size=160")
    page.get_by_role("heading", name="What channels look for · VGG16").wait_for(timeout=120_000)
    browser.wait_idle(page)
    page.get_by_role("button", name="Optimise").click()
    expect(page.get_by_text(re.compile(r"step ([3-9]|\d\d+) of 256"))).to_be_visible(timeout=120_000)
    busy = _server_cpu_seconds(server)
    time.sleep(0.5)
    assert _server_cpu_seconds(server) - busy > 0.3  # the run is using the server
    page.close()
    assert _seconds_until_idle(server) <= 2.0


def _seconds_until_idle(server: str) -> float:
    """From now (a tab just closed) until the server uses under a fifth of a core for a quarter second."""
    closed = time.monotonic()
    previous = _server_cpu_seconds(server)
    while time.monotonic() - closed < 15:
        time.sleep(0.25)
        now = _server_cpu_seconds(server)
        if now - previous < 0.25 * 0.2:
            return time.monotonic() - closed - 0.25
        previous = now
    return math.inf


def test_a_network_build_stops_within_two_seconds_of_its_tab_closing(context, server):
    """A student follows a link to timm/convnext_large (198 M parameters, about 20 s to build here)
    and closes the tab while its progress bar shows: the server stops building it at once (the
    build used to finish, and keep its memory, with no one waiting for it)."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(f"{server}/?net=timm/convnext_large")
    expect(page.get_by_text(re.compile(r"Building timm/convnext_large: ([1-9]|\d\d) % of its parameters drawn"))
           ).to_be_visible(timeout=120_000)
    busy = _server_cpu_seconds(server)
    time.sleep(0.5)
    assert _server_cpu_seconds(server) - busy > 0.3  # the build is using the server
    page.close()
    assert _seconds_until_idle(server) <= 2.0


# The boxes trace of the network graph (the second: edges are drawn first), its labels and its
# boxes, each as the page lays it out: [font size px, label rect, box rect] per box in view.
_GRAPH_LABELS_JS = """() => {
    const plot = document.querySelector('.js-plotly-plot');
    const area = plot.querySelector('.bglayer rect, .draglayer .nsewdrag').getBoundingClientRect();
    const texts = [...plot.querySelectorAll('.scatterlayer .trace:nth-of-type(2) .textpoint text')];
    const shapes = [...plot.querySelectorAll('.layer-subplot .shapelayer path')];  // layer="below" shapes of the axes
    const frames = shapes.length - texts.length;
    const rect = r => [r.left, r.top, r.right, r.bottom];
    return texts.map((text, i) => [parseFloat(getComputedStyle(text).fontSize), rect(text.getBoundingClientRect()),
                                   rect(shapes[frames + i].getBoundingClientRect())])
        .filter(([, [l, t, r, b]]) => l >= area.left && r <= area.right && t >= area.top && b <= area.bottom);
}"""


def _overlap(one, other) -> bool:
    return one[0] < other[2] and other[0] < one[2] and one[1] < other[3] and other[1] < one[3]


def test_the_network_graph_reads_at_1366_opens_a_block_and_a_click_opens_that_layer(context, server, artifacts):
    """At 1366×768 every label in view is at least 12 px, inside its own box and clear of every
    other label; a click on a block offers to open it into its modules (and to close it again);
    a click on a layer gives its details and opens it in Activations."""
    page = context.new_page()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{server}/graph?net=resnet50")
    page.get_by_role("heading", name="Network graph · ResNet-50").wait_for(timeout=120_000)
    browser.wait_idle(page)
    labels = page.evaluate(_GRAPH_LABELS_JS)
    assert len(labels) >= 10
    for size, label, box in labels:
        assert size >= 12 and label[0] >= box[0] - 1 and label[2] <= box[2] + 1, (size, label, box)
    assert not [pair for pair in itertools.combinations([label for _, label, _ in labels], 2) if _overlap(*pair)]
    page.screenshot(path=str(artifacts / "graph-resnet50-1366.png"))
    with page.expect_download() as svg:  # drawn by dot when clicked
        page.get_by_role("button", name="Download the graph (SVG)").click()
    drawn = Path(svg.value.path()).read_bytes()
    assert drawn.startswith(b"<?xml") and b"layer1.0" in drawn and "conv1 7×7/2, 64".encode() in drawn

    def click_box(label: str) -> None:
        """Click the box whose label (its first line) is `label`."""
        boxes = page.locator(".js-plotly-plot .scatterlayer .trace").nth(1)
        texts = boxes.locator(".textpoint text").all_text_contents()
        index = next(i for i, text in enumerate(texts) if text.startswith(label))
        boxes.locator(".points path").nth(index).click(force=True)
        browser.wait_idle(page)

    click_box("layer1.1 · Bottleneck")
    page.get_by_role("button", name="Open layer1.1 into its modules").click()
    browser.wait_idle(page)
    expect(page.get_by_text("layer1.1 conv2 3×3, 64").first).to_be_visible()
    assert "open=layer1.1" in page.url
    page.get_by_role("button", name="Close layer1.1").click()
    browser.wait_idle(page)
    assert "open=" not in page.url
    click_box("conv1 7×7/2, 64")
    expect(page.get_by_text("kernel: 7×7 · stride: 2×2 · padding: 3×3")).to_be_visible()
    page.get_by_role("button", name="Open this layer in Activations").click()
    page.get_by_role("heading", name="Activations · ResNet-50").wait_for(timeout=120_000)
    expect(page).to_have_url(re.compile(r"tap=conv1\b"))
    assert not browser.exceptions(page)
    page.close()


_TREEMAP_TILES_JS = """() => Object.fromEntries([...document.querySelectorAll('.st-key-treemap g.slice')]
    .filter(tile => tile.querySelector('text'))
    .map(tile => [tile.querySelector('text').getAttribute('data-unformatted').split('<br>')[0],
                  getComputedStyle(tile.querySelector('path.surface')).fill]))"""


def _colour_word(rgb: str) -> str:
    """What a person calls a tile's colour, as the legend's words do."""
    red, green, blue = map(int, re.findall(r"\d+", rgb)[:3])
    if max(red, green, blue) - min(red, green, blue) < 40:
        return "grey"
    return "red" if red > blue else "blue"


def test_the_treemap_is_drawn_in_the_colours_its_legend_names(context, server, artifacts):
    """Parameters & FLOPs says "blue: convolution, red: fully connected": the tiles Chromium draws
    are those colours, by parameters and by MACs (plotly's own palette once made Lite0's conv_head
    red and its fc light blue, VGG16's fc6 dark blue)."""
    from playwright.sync_api import expect

    expected = {  # (network, sized by): tiles large enough to carry their label
        ("vgg16", "parameters"): {"VGG16": "red", "fc6": "red", "fc7": "red", "features": "blue", "conv5_3": "blue"},
        ("vgg16", "MACs"): {"VGG16": "blue", "classifier": "red", "features": "blue", "conv4_2": "blue"},
        ("efficientnet_lite0", "parameters"): {"conv_head": "blue", "fc": "red", "blocks": "blue"},
        ("efficientnet_lite0", "MACs"): {"conv_head": "blue", "fc": "red", "conv_stem": "blue"}}
    page = context.new_page()
    page.set_viewport_size({"width": 1366, "height": 768})
    for key in ("vgg16", "efficientnet_lite0"):
        page.goto(f"{server}/costs?net={key}")
        expect(page.get_by_text("blue: convolution, red: fully connected").first).to_be_attached(timeout=120_000)
        for by in ("parameters", "MACs"):
            colours = expected[key, by]
            page.locator(".st-key-treemap_by").get_by_text(by, exact=True).click()
            browser.wait_idle(page)
            page.locator(".st-key-treemap").scroll_into_view_if_needed()
            expect(page.locator(".st-key-treemap g.slice text").first).to_be_attached()
            tiles = page.evaluate(_TREEMAP_TILES_JS)
            assert {label: _colour_word(tiles[label]) for label in colours} == colours, (key, by)
        page.locator(".st-key-treemap").screenshot(path=str(artifacts / f"treemap-{key}.png"))
    assert not browser.exceptions(page)
    page.close()


def test_your_own_weights_of_45_and_94_mb_are_taken_and_a_21_mb_photo_is_not(context, server, tmp_path, artifacts):
    """Fine-tuned ResNet-18 (44.8 MB) and ResNet-50 (94 MB) state dicts go through the real
    uploader with their class file and predict their own classes; a photo over 20 MB is still
    refused in the browser (one server-wide 20 MB limit used to refuse every fine-tuned network)."""
    import torch
    from playwright.sync_api import expect
    from torchvision.models import resnet18, resnet50

    from explorer import rng

    classes = tmp_path / "flowers.txt"
    classes.write_text("\n".join(f"flower {i}" for i in range(10)) + "\n")
    for key, build in (("resnet18", resnet18), ("resnet50", resnet50)):
        with rng.seeded(0):
            model = build(num_classes=10)
        with torch.no_grad():
            model.fc.bias.zero_()
            model.fc.bias[7] = 50.0  # it says flower 7 whatever the image
        weights_file = tmp_path / f"{key}-flowers.pth"
        torch.save(model.state_dict(), weights_file)
        assert weights_file.stat().st_size > (40 if key == "resnet18" else 90) * 2**20
        page = context.new_page()
        page.goto(f"{server}/?net={key}")
        page.wait_for_selector("[data-testid='stSidebar']", timeout=120_000)
        browser.wait_idle(page)
        page.get_by_text("Your own weights", exact=True).click()
        page.locator("[class*='st-key-own_weights'] [data-testid='stFileUploaderDropzoneInput']").set_input_files(
            str(weights_file))
        expect(page.get_by_text(f"yours ({key}-flowers.pth)").first).to_be_visible(timeout=120_000)
        browser.wait_idle(page)
        page.locator("[class*='st-key-own_classes'] [data-testid='stFileUploaderDropzoneInput']").set_input_files(
            str(classes))
        expect(page.locator(".js-plotly-plot").filter(has_text="flower 7").first).to_be_visible(timeout=120_000)
        browser.wait_idle(page)
        page.screenshot(path=str(artifacts / f"own-weights-{key}.png"))
        assert "must be" not in page.inner_text("[data-testid='stSidebar']") and not browser.exceptions(page)
        page.close()

    photo = tmp_path / "huge.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(21 * 2**20))
    page = context.new_page()
    page.goto(f"{server}/?net=alexnet")
    page.wait_for_selector("[data-testid='stSidebar']", timeout=120_000)
    browser.wait_idle(page)
    page.locator(".st-key-image_source").get_by_text("Upload", exact=True).click()
    browser.wait_idle(page)
    page.locator(".st-key-upload [data-testid='stFileUploaderDropzoneInput']").set_input_files(str(photo))
    expect(page.get_by_text(re.compile(r"File must be 20(\.0)? ?MB or smaller"))).to_be_visible(timeout=30_000)
    page.close()
