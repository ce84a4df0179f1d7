"""Fitting cognitive models to trial-level behavioural data.

data -> contract (``schema``, ``contract``: pandera validation; ``datasets``: named real
data sets) -> dense arrays (``arrays``) -> a model spec (``specs``; the learning rules in
``learning``, ``delta_rules``, ``isr_rule``, registered in ``models``) -> ``fit``
(``inference``: hierarchical NUTS or SVI; ``fit_data``) -> an ``xarray.DataTree``
(``fit_files`` saves and loads it) -> ``diagnostics``, ``comparison`` (PSIS-LOO),
``predictive_check``, ``recovery`` and ``figures``.
"""
