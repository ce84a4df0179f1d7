"""Count-level studies: a study described as the child lived it (``study``: conditions,
feedback events, who watched), choice models that predict each condition's proportion
from U = R_e + P R_s + (1 - P) R_i at the test (``models``), and their fitting,
PSIS-LOO and Bayes factors (``inference``).
"""
