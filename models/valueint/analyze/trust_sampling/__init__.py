"""``valueint analyze trust-sampling``: the Ma et al. (2022) data, ages 10-24.

``settings`` (what is fitted and how), ``run`` (the whole analysis:
``run_trust_sampling_analysis``), ``curves`` (age curves and contrasts), ``figures``,
``report`` (summary.md) and ``calibration`` (recovery and SBC at the real design).
"""
