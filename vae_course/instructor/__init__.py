"""What instructors and maintainers run, apart from what learners import.

- ``student``: generates ``notebooks/`` (student versions, with nbgrader metadata) from ``solutions/``.
- ``nbgrader_steps``: the step the course adds to nbgrader's ``autograde`` (no false tamper alarm).
- ``grade``: grades a folder of submissions in sandboxed kernels and writes a CSV.
- ``sandbox``: the box (bubblewrap, no privilege, limits) a graded kernel runs in.
- ``release``: the copy of the package a graded kernel imports, without the judged answers.
- ``in_kernel`` and ``wire``: what the grader runs inside a submission's kernel, and the plain
  numbers it hands back.
"""
