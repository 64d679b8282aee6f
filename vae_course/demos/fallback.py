"""One display rule for every demo: the live widget where widgets render, a static picture elsewhere.

Every demo returns a :class:`WidgetWithFallback`. JupyterLab, Notebook, VS Code and Voila draw the
widget (and only the widget); nbconvert, nbval, the static site (``make book``) and notebook viewers
on the web, which cannot run a kernel, show the PNG drawn for the demo's starting values instead.
"""

import base64
import io

import matplotlib.pyplot as plt


def figure_png(fig, dpi: int = 80) -> bytes:
    """Render a matplotlib Figure to PNG bytes (and close it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


class WidgetWithFallback:
    """Display a widget where widgets render, and a static PNG everywhere else.

    ``_repr_mimebundle_`` returns the widget's own bundle plus ``image/png``: front ends with a
    widget manager pick the widget view; the others show the picture. The widget is ``.widget``;
    the static picture's bytes are ``.png``. Other attributes (``.sliders``, ``.image``,
    ``.update``, ...) are the widget's.
    """

    def __init__(self, widget, png: bytes):
        self.widget, self.png = widget, png

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {}
        if self.widget is not None and hasattr(self.widget, "_repr_mimebundle_"):
            data = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        data.setdefault("text/plain", "(a widget; where widgets are not rendered, a static picture)")
        return data

    def __getattr__(self, name):  # sliders, update, ... reach the widget
        if name == "widget":
            raise AttributeError(name)
        return getattr(self.widget, name)
