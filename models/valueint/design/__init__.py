"""Study design: how large a study must be to detect value internalization.

``load_study`` reads a study file (``valueint.design.study``); ``design`` simulates
studies at each candidate size, fits every model to each on the job engine and reports
how often the criteria are met (``valueint.design.job``).  Imported lazily, so that the
command line reads a study without starting JAX.
"""

from valueint.design.study import Criteria, Study, StudyError, load_study

__all__ = ["Criteria", "Study", "StudyError", "design", "load_study"]


def __getattr__(name):
    if name == "design":
        from valueint.design.job import design

        return design
    raise AttributeError(f"module 'valueint.design' has no attribute {name!r}")
