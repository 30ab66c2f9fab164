"""The menu on a 375-px phone (Debian's Chromium driven by Playwright): where it runs on past the screen's edge,
that edge fades, so the user knows to scroll it; where everything fits, nothing fades."""
import pytest

from test_browser__journeys import CHROMIUM, DESKTOP, PHONE, Person, browser, expect, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium fonts-noto-cjk")

FADE = "() => getComputedStyle(document.querySelector('.menu')).maskImage"
OVERFLOWS = "() => { const m = document.querySelector('.menu'); return m.scrollWidth > m.clientWidth; }"


def test_the_admins_long_menu_fades_where_it_goes_on_and_not_once_scrolled_there(browser, server, make_user):  # noqa: F811
    make_user("admin", "admin")
    admin = Person(browser, server, "admin", PHONE)
    admin.sign_in()
    page = admin.open("/inbox")  # the menu's first page
    menu = page.locator("nav.menu")
    assert page.evaluate(OVERFLOWS)
    expect(menu).to_have_class("menu more-after")  # more to the right only
    assert "linear-gradient" in page.evaluate(FADE)
    admin.shoot("menu-phone")

    menu.evaluate("m => m.scrollLeft = m.scrollWidth")
    expect(menu).to_have_class("menu more-before")  # at the end: more to the left only
    menu.evaluate("m => m.scrollLeft = m.scrollWidth / 3")
    expect(menu).to_have_class("menu more-before more-after")

    # on the last page of the menu, the menu starts where its link is, in sight
    page = admin.open("/notifications")
    current = page.locator("nav.menu a[aria-current]")
    expect(current).to_be_in_viewport()
    expect(menu).to_have_class("menu more-before")
    admin.close()


def test_a_menu_that_fits_does_not_fade(browser, server, make_user):  # noqa: F811
    make_user("nurse", "requester", department="心内科")
    make_user("admin", "admin")
    nurse = Person(browser, server, "nurse", PHONE)
    page = nurse.sign_in()
    assert not page.evaluate(OVERFLOWS)
    expect(page.locator("nav.menu")).to_have_class("menu")
    assert page.evaluate(FADE) == "none"
    nurse.close()

    admin = Person(browser, server, "admin", DESKTOP)  # the admin's whole menu fits on a desk's screen
    page = admin.sign_in()
    assert not page.evaluate(OVERFLOWS)
    expect(page.locator("nav.menu")).to_have_class("menu")
    assert page.evaluate(FADE) == "none"
    admin.close()
