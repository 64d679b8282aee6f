"""Exercise checkers: ``core`` is the machinery, ``nbNN`` holds notebook NN's ``ex1``, ``ex2``, ..."""
