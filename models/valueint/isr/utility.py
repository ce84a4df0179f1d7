"""How a learner weighs social and internal reward: U = R_e + P R_s + (1 - P) w R_i.

P is how far the caregiver can be counted on to answer (an observed presence, a
presence probability or a mix of both), and w the degree of internalization:
1 for a full ISR, 0 for a learner that values the caregiver's wishes only while it
can be rewarded for them, or a fitted weight.  The simulation, the trial-level
cognitive models and the paradigm-level choice models all weigh rewards here.
"""

from __future__ import annotations


def presence_weights(presence, internalization=1.0):
    """(weight on R_s, weight on R_i) = (P, (1 - P) w)."""
    return presence, (1.0 - presence) * internalization


def utility(extrinsic, social, internal, presence, internalization=1.0):
    """U = R_e + P R_s + (1 - P) w R_i."""
    social_weight, internal_weight = presence_weights(presence, internalization)
    return extrinsic + social_weight * social + internal_weight * internal
