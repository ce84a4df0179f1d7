"""Workflows over many fits, written once for every family of models.

Each reaches the families only through ``valueint.inference.family.ModelFamily``, and runs
its fits as tasks of one job driver (``valueint.jobs.run_job``: local workers or a Dask
cluster, resumable, one failure policy):

- ``recovery``: simulate known subjects, refit, score the estimates; model recovery;
- ``calibration`` (with ``sbc``): simulation-based calibration of a model and its sampler;
- ``kfold``: exact K-fold cross-validation by subject;
- ``power`` (with ``power_study`` and ``power_summary``): how large a study must be;
- ``comparison``: model comparison by PSIS-LOO or by K-fold.
"""
