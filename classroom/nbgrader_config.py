# The instructor's course folder (/home/vaehub-instructor/vae-course): docs/instructors.md's
# nbgrader_config.py as it is (tests/test_hub.py keeps the two in step), and where the exchange is.
c = get_config()  # noqa: F821 (traitlets' config file)
c.CourseDirectory.course_id = "vae-course"
c.ExecutePreprocessor.timeout = 600
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "vae_course.instructor.nbgrader_steps.restore_hidden_tests",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# the hub's exchange, one folder on this machine (classroom/setup.py creates it)
c.Exchange.root = "/srv/vaehub/exchange"
