"""Slow, obvious NumPy references that the JAX code is checked against (as
``numpy.testing`` serves NumPy): the worlds (``worlds``), the learner and runner loop
(``simulation``), the same learner batched over learners in vectorized NumPy
(``vectorized``: the peer the benchmarks measure the runner against), the trial-level learning rules (``trial_models``) and the exact
batch posterior that the ISR's online update approximates (``exact_posterior``), and small
task functions for the distributed engine's tests (``tasks``).
Tests and benchmarks use them; they are deliberately written apart from the code they
check.
"""
