"""Steps the course adds to nbgrader's own, named in the ``nbgrader_config.py`` of docs/instructors.md."""

from __future__ import annotations

import copy

import nbformat


def restore_hidden_tests(nb: nbformat.NotebookNode, resources: dict
                         ) -> tuple[nbformat.NotebookNode, dict]:
    """An nbgrader ``autograde`` preprocessor that puts the hidden tests back into each locked cell
    a learner left as released, just before nbgrader's own ``OverwriteCells`` (docs/instructors.md,
    *Grade with nbgrader*, names it in ``c.Autograde.sanitize_preprocessors``).

    Without it every check cell of an untouched release triggers ``OverwriteCells``'s tamper
    warning (``Attribute 'checksum' for cell ex1-check has changed!``, jupyter/nbgrader#1961):
    ``generate_assignment`` saves a locked cell's source and checksum to the gradebook *with* its
    hidden tests (``ComputeChecksums`` and ``SaveCells`` run before ``ClearHiddenTests``), and
    ``OverwriteCells`` compares the submitted cell, released without them, against that checksum,
    restoring the saved source (hidden tests included) only when they differ, after warning.

    A cell is put back here only when its source is exactly the released text, the saved source
    with its hidden tests removed by nbgrader's own ``ClearHiddenTests``. ``OverwriteCells`` then
    finds the saved checksum and says nothing; any other source is left as submitted, so an edited
    locked cell still gets nbgrader's warning and is restored by it. The cell's type, lock and
    points are left to ``OverwriteCells`` to check, as before. (``ClearHiddenTests`` runs here with
    its default markers, the ones this module writes; with other markers configured nothing is put
    back here, and nbgrader warns and restores as it does without this step.)
    """
    from nbgrader.api import Gradebook, MissingEntry  # only inside nbgrader: a test extra
    from nbgrader.preprocessors import ClearHiddenTests

    clear = ClearHiddenTests(enforce_metadata=False)
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gradebook:
        for index, cell in enumerate(nb.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id is None:
                continue
            try:
                saved = gradebook.find_source_cell(grade_id, info["notebook"], info["assignment"])
            except MissingEntry:  # OverwriteCells reports it
                continue
            released = copy.deepcopy(cell)
            released.source = saved.source
            released, _ = clear.preprocess_cell(released, {}, index)
            if saved.locked and released.source != saved.source and cell.source == released.source:
                cell.source = saved.source
    return nb, resources
