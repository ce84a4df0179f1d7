"""Simulation: socialize Q-learners with a caregiver, then see what lasts when it leaves.

config -> world (``envs``) and caregiver (``caregiver``) -> agents (``agents``) ->
``runner`` (one jitted ``lax.scan`` over steps, ``vmap`` over seeds and conditions) ->
metrics per episode -> the paper's claims and figures (``reproduce``, ``claims``,
``figures``).  ``configs/`` holds the shipped experiments.
"""
