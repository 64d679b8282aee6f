"""Presenter mode: a demo page served by Voila (as ``make demo`` serves it) shows no code, asks
nothing of the network, and its widget responds."""

import time

from notebook_ui import image_src, press_on_handle, readout, slider, wait_for_new_image, wait_until_settled

from vae_course.demos.kl_explorer import kl_normal_1d


def test_voila_kl_page_has_no_code_no_external_requests_and_responds(page, voila, screenshots):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((voila.url, "blob:", "data:"))
            else None)
    start = time.monotonic()
    page.goto(voila.link("/voila/render/1_kl_explorer.ipynb"))
    sigma_p = slider(page, "σ_p")
    sigma_p.wait_for()
    page.locator("img.widget-image").wait_for()
    print(f"the Voila KL page showed its widget {time.monotonic() - start:.1f} s after it was asked for")
    assert page.get_by_text("kl_demo").count() == 0, "the code is shown"

    before = image_src(page)
    press_on_handle(sigma_p, "ArrowRight", 8)
    wait_for_new_image(page, before)
    wait_until_settled(page)
    values = {name: readout(slider(page, name)) for name in ("μ_p", "σ_p", "μ_q", "σ_q")}
    assert values["σ_p"] > 1.0, "the σ_p slider did not move"
    kl = kl_normal_1d(values["μ_p"], values["σ_p"], values["μ_q"], values["σ_q"])
    expected = f"KL(p‖q) = {kl:.3f} nats"
    page.wait_for_function(
        "t => [...document.querySelectorAll('.widget-html-content')].some(e => e.innerText.includes(t))",
        arg=expected)
    page.screenshot(path=screenshots / "voila_kl_explorer.png")
    assert outside == [], f"the page fetched from outside: {outside}"
