"""Presenter mode: a demo page served by Voila (as ``make demo`` serves it) shows no code, asks
nothing of the network, and its widget responds."""

import time

from notebook_ui import image_src, press_on_handle, readout, slider, wait_for_new_image, wait_until_settled

from vae_course.demos.kl_explorer import kl_normal_1d


def test_voila_kl_page_has_no_code_no_external_requests_and_responds(page, voila, screenshots):
    outside, errors = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((voila.url, "blob:", "data:"))
            else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
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
    assert errors == [], f"the presenter's page logged errors: {errors}"


def test_voila_start_page_lists_the_demos_and_fetches_nothing_from_outside(page, voila, screenshots):
    # Voila's own start page polls /api/kernels, which Voila does not serve, and starts the widget
    # manager with no kernel: those two are Voila's (its tree page, not our template) and are all
    # that may show; the lab extensions that Voila would load beside them (nbgrader's, Notebook 7's)
    # are left out by share/jupyter/config/voila.json, and no stylesheet comes from a CDN
    outside, errors, missing = [], [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((voila.url, "blob:", "data:"))
            else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(voila.link("/voila/tree"))
    page.get_by_text("1_kl_explorer.ipynb").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / "voila_start_page.png")
    assert outside == [], f"the start page fetched from outside: {outside}"
    assert all("/api/kernels" in url for url in missing), missing
    voilas_own = ("Failed to load resource", "The model for kernel id  does not exist")
    assert [e for e in errors if not any(v in e for v in voilas_own)] == [], errors
