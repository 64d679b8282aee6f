"""What a person does in JupyterLab and Voila, as Playwright steps: open, run all, find a widget."""

import re
import time

# JupyterLab 4: the kernel indicator in the notebook's toolbar; present, though not always visible
KERNEL_IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'


def open_notebook(page, lab, name: str, timeout: float = 60.0) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel has started and the page shows it idle.

    (Run All before the page is connected to the kernel would clear the cells and run nothing.)
    """
    page.goto(lab.link(f"/lab/tree/{name}?reset"))  # reset: no tabs left from an earlier test
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="visible")
    deadline = time.monotonic() + timeout
    while not any(s["path"].endswith(name) and s["kernel"]["execution_state"] == "idle"
                  for s in lab.api("GET", "/api/sessions")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no idle kernel for {name} after {timeout:.0f} s")
        time.sleep(0.2)
    page.wait_for_selector(KERNEL_IDLE, state="attached")
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\|\s*Idle")).first.wait_for()
    dismiss_notifications(page)


def dismiss_notifications(page) -> None:
    """Close JupyterLab's toasts (the 'news' question among them) so they cover no widget."""
    for button in page.locator(".jp-toast-button, .Toastify__close-button").all():
        if button.is_visible():
            button.click()


def run_all(page) -> None:
    """Run > Run All Cells, from the menu bar, as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def slider(page, description: str):
    """The ipywidgets slider whose label is ``description``."""
    return page.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$")))


def readout(slider_locator) -> float:
    """The number a slider shows next to it."""
    return float(slider_locator.locator(".widget-readout").inner_text().replace("\u2212", "-"))


def image_src(page, selector: str = "img.widget-image") -> str:
    """The ``src`` of the (first) widget image: a new blob URL each time the picture changes."""
    return page.locator(selector).first.get_attribute("src")


def wait_for_new_image(page, old_src: str, selector: str = "img.widget-image",
                       timeout: float = 20_000) -> str:
    """Wait until the widget image shows another picture than ``old_src``; returns the new src.

    Fails (AssertionError) when the picture has not changed after ``timeout`` ms.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "([sel, old]) => { const img = document.querySelector(sel);"
            " return img && img.src && img.src !== old && img.complete && img.naturalWidth > 0; }",
            arg=[selector, old_src], timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"the picture did not change within {timeout / 1000:.0f} s") from None
    return image_src(page, selector)


def image_digest(page, selector: str = "img.widget-image") -> str:
    """SHA-256 of the picture the widget image shows now (the same picture gives the same digest)."""
    return page.evaluate(
        """async (sel) => {
            const img = document.querySelector(sel);
            const bytes = await (await fetch(img.src)).arrayBuffer();
            const digest = await crypto.subtle.digest("SHA-256", bytes);
            return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, "0")).join("");
        }""", selector)


def drag_handle(page, slider_locator, dx: float) -> None:
    """Drag a slider's handle ``dx`` pixels to the right with the mouse."""
    box = slider_locator.locator(".noUi-handle").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=4)
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()


def press_on_handle(slider_locator, key: str, times: int) -> None:
    """Focus a slider's handle and press ``key`` (e.g. ``"ArrowRight"``) ``times`` times."""
    handle = slider_locator.locator(".noUi-handle")
    handle.focus()
    for _ in range(times):
        handle.press(key)


def widget_output(page):
    """The output area that holds the demo's widget (for a screenshot of just the demo)."""
    return page.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-slider")).first


def wait_until_settled(page, selector: str = "img.widget-image", quiet: float = 0.8,
                       timeout: float = 30.0) -> str:
    """Wait until the kernel is idle and the image has not changed for ``quiet`` seconds.

    A slider sends several values while it moves, and the picture lags the label: the last
    picture is the one that matches what the controls show. Returns the image's final ``src``.
    """
    deadline = time.monotonic() + timeout
    src, since = image_src(page, selector), time.monotonic()
    while True:
        time.sleep(0.1)
        now = image_src(page, selector)
        idle = page.locator(KERNEL_IDLE).count() > 0 or page.locator(".jp-NotebookPanel").count() == 0
        if now != src or not idle:
            src, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return src
        if time.monotonic() > deadline:
            raise TimeoutError(f"the image kept changing for {timeout:.0f} s")
