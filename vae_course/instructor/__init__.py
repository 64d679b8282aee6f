"""What instructors and maintainers run, apart from what learners import.

- ``student``: generates ``notebooks/`` (student versions, with nbgrader metadata) from ``solutions/``.
- ``grade``: grades a folder of submissions in sandboxed kernels and writes a CSV.
- ``in_kernel``: the few functions the grader runs inside a submission's kernel.
"""
