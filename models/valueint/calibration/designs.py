"""The SBC defaults, in one light module (no JAX) that the command line reads too."""

REPLICATIONS = 200
RANK_DRAWS = 99  # ranks take 100 values
# the trial-level design unless told otherwise: small enough that a fit takes seconds
TRIAL_DESIGN = {
    "subjects": 8,
    "trials": 48,
    "chains": 2,
    "warmup": 300,
    "draws": 300,
    "target_accept_prob": 0.9,
}
# the paradigm-level design: children per condition of the paradigm, and the fit
PARADIGM_DESIGN = {"children": 30, "chains": 2, "warmup": 300, "draws": 300}
