"""``valueint analyze prosocial-learning``: the Cutler et al. (2021) data, ages 18-88.

``settings`` (what is fitted and how), ``data`` (the data set, prepared), ``fitting`` (the
fits, their diagnostics and comparison), ``curves`` and ``parameters`` (the learning
curves and the group differences), ``figures``, ``report`` (summary.md) and ``run`` (the
whole analysis: ``run_prosocial_analysis``).
"""
