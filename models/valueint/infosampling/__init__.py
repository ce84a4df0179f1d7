"""Information sampling before a social decision, step by step (e.g. Ma et al., 2022).

On each trial a participant opens tiles that show a peer's past reciprocation, one at a
time, stops when they choose, then decides whether to trust.  The models here share one
core, a Beta belief about the peer's reciprocation that starts from a per-participant
prior (a mean and a strength, i.e. an uncertainty) and is updated by every tile; they
differ in the rule that decides when to stop.  Every decision of a trial (open another
tile or stop, then trust or not) is simulated and scored.

- ``data``: the named data set ``trust_sampling_ma2022`` as a tidy step table and trial
  table, its quirks handled and reported;
- ``belief``: the Beta belief over states (tiles opened, green among them) and the
  optimal-stopping values of a cost per tile;
- ``models``: one declarative spec per model (parameters, the stopping rule, the trust
  rule) and their decision tables;
- ``arrays``: the data as count tables per participant (the likelihood's sufficient
  statistics) and step indices (for pointwise log-likelihoods), and simulation;
- ``fit``: hierarchical NUTS fits with per-parameter covariate formulas (smooth age curves);
- ``kfold``: K-fold cross-validation by participant on the job engine;
- ``checks``: posterior predictive checks by reciprocation level and age band;
- ``recovery``: parameter recovery and SBC at the real design.
"""
