"""The page benchmark drives the pages the way a lecturer does: every widget it moves exists, each
move changes what the page draws, a rerun changes nothing, and every visit and interaction
completes without an exception (the seconds are for `make bench`)."""
import plotly.graph_objects as go
import pytest

from bench import pages
from explorer.ui import cache


def _shared_figures() -> list[cache.SharedFigure]:
    store = cache.results()
    found = [store.get_or_compute(key, lambda: None) for key in store.keys() if str(key[0]).startswith("figure:")]
    return [figure for figure in found if figure is not None]


@pytest.mark.parametrize("key, page", [("alexnet", page) for page in pages.PAGES] + [("googlenet", "pages/inception.py")])
def test_every_page_is_visited_and_every_widget_moved(key, page):
    visit = pages.visit(key, page)
    has_widgets = not (page == "pages/inception.py" and key == "alexnet")  # the page says there is nothing
    expected = set(pages.EVERY_PAGE) | (set(pages.INTERACTIONS.get(page, {})) if has_widgets else set())
    assert set(visit.interactions) == expected
    assert set(visit.first_views) == {"first view", *pages.FIRST_OPENS.get(page, {})}
    # each move shows its effect, and a rerun redraws the very same page
    assert {name for name, changed in visit.changed.items() if not changed} == \
        {"rerun"} | {name for shown, name in pages.SETS_ONLY if shown == page}
    # every session is sent each figure's dictionary as it was made: no page changed a shared figure after
    shared = _shared_figures()
    assert all(isinstance(figure, cache.SharedFigure) for figure in shared)
    assert [figure.to_dict() == go.Figure.to_dict(figure) for figure in shared] == [True] * len(shared)
    assert shared  # Home's top-5 at least


def test_the_first_opens_are_what_a_person_opens():
    """Every Lecture tab after the first, each attribution method that runs at once besides the
    default, each Gradient flow setting that measures new twins, and the graph of every module."""
    from explorer import attribution, lecture

    assert [name.removeprefix("tab ") for name in pages.FIRST_OPENS["pages/lecture.py"]] == list(lecture.SECTIONS[1:])
    assert set(pages.FIRST_OPENS["pages/attribution.py"]) == {"method guided_gradcam", "method saliency"}
    assert set(pages.FIRST_OPENS["pages/graph.py"]) == {"every module"}
    assert not attribution.SLOW_METHODS & {name.removeprefix("method ") for name in pages.FIRST_OPENS["pages/attribution.py"]}


def test_a_first_view_starts_from_the_caches_of_a_fresh_warmed_server(cat_image):
    from explorer import costs
    from explorer.ui import cache

    costs.summary("alexnet")
    cache.results().get_or_compute(("probe",), lambda: 1)
    pages.fresh_server()
    assert ("alexnet",) not in costs.summary.cache
    assert ("probe",) not in cache.results()
    assert {key[0] for key in cache.results().keys()} >= {"model", "analysis", "twins"}  # the warm-up's
