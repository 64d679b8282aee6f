"""Interactive widget demos for presenters.

One module per demo; each also draws a static figure for places where widgets are not rendered.
"""
