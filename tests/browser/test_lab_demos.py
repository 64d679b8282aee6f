"""The three demos in JupyterLab: a person moves the controls, and what they see follows."""

import re

from notebook_ui import (
    drag_handle,
    image_digest,
    image_src,
    open_notebook,
    press_on_handle,
    readout,
    run_all,
    slider,
    wait_for_new_image,
    wait_until_settled,
    widget_output,
)

from vae_course.demos.kl_explorer import kl_normal_1d


def kl_label_shows(page, text: str) -> None:
    page.wait_for_function(
        "t => [...document.querySelectorAll('.widget-html-content')].some(e => e.innerText.includes(t))",
        arg=text)


def test_kl_explorer_slider_keys_update_the_kl_numbers_and_the_picture(lab_page, lab, screenshots):
    page = lab_page
    open_notebook(page, lab, "1_kl_explorer.ipynb")
    run_all(page)
    label = page.locator(".widget-html-content", has_text="KL(p‖q)")
    label.wait_for()
    before_src, before_text = image_src(page), label.inner_text()
    assert readout(slider(page, "μ_q")) == -1.0

    press_on_handle(slider(page, "μ_q"), "ArrowRight", 10)
    wait_for_new_image(page, before_src)
    values = {name: readout(slider(page, name)) for name in ("μ_p", "σ_p", "μ_q", "σ_q")}
    assert values["μ_q"] > -1.0, "the μ_q slider did not move"
    expected_pq = kl_normal_1d(values["μ_p"], values["σ_p"], values["μ_q"], values["σ_q"])
    expected_qp = kl_normal_1d(values["μ_q"], values["σ_q"], values["μ_p"], values["σ_p"])
    kl_label_shows(page, f"KL(p‖q) = {expected_pq:.3f} nats")
    text = label.inner_text()
    assert text != before_text
    assert re.search(rf"KL\(q‖p\) = {expected_qp:.3f} nats", text), text
    wait_until_settled(page)
    widget_output(page).screenshot(path=screenshots / "kl_explorer.png")


def test_latent_explorer_dragging_a_slider_redraws_the_decoded_digit(lab_page, lab, screenshots):
    page = lab_page
    open_notebook(page, lab, "2_latent_explorer.ipynb")
    run_all(page)
    z1, z2 = slider(page, "z₁"), slider(page, "z₂")
    z1.wait_for()
    page.locator("img.widget-image").wait_for()
    start = (readout(z1), readout(z2))
    first = image_digest(page)

    drag_handle(page, z1, 120)
    wait_for_new_image(page, image_src(page))
    src = wait_until_settled(page)
    assert readout(z1) > start[0], "dragging z₁ to the right did not move it"
    after_drag = image_digest(page)
    assert after_drag != first

    press_on_handle(z2, "ArrowLeft", 15)
    wait_for_new_image(page, src)
    wait_until_settled(page)
    assert readout(z2) < start[1], "the left arrow key did not move z₂"
    assert image_digest(page) not in (first, after_drag)
    widget_output(page).screenshot(path=screenshots / "latent_explorer.png")


def test_digit_mixer_choosing_a_digit_draws_that_digit_and_sliders_change_its_style(
        lab_page, lab, screenshots):
    page = lab_page
    open_notebook(page, lab, "3_digit_mixer.ipynb")
    run_all(page)
    button = page.locator(".widget-toggle-button", has_text=re.compile(r"^8$"))
    button.wait_for()
    page.locator("img.widget-image").wait_for()
    three = image_digest(page)

    button.click()
    src = wait_for_new_image(page, image_src(page))
    assert "mod-active" in button.get_attribute("class"), "the 8 is not shown as chosen"
    eight = image_digest(page)
    assert eight != three

    # the picture is a function of the choice: back to 3 gives the first picture again
    page.locator(".widget-toggle-button", has_text=re.compile(r"^3$")).click()
    src = wait_for_new_image(page, src)
    assert image_digest(page) == three
    button.click()
    src = wait_for_new_image(page, src)
    assert image_digest(page) == eight

    drag_handle(page, slider(page, "z₁"), 40)
    wait_for_new_image(page, src)
    wait_until_settled(page)
    assert readout(slider(page, "z₁")) > 0, "dragging the style slider did not move it"
    assert image_digest(page) not in (three, eight)
    widget_output(page).screenshot(path=screenshots / "digit_mixer.png")
