"""The subject whitening of ``valueint.inference.whitening``, written out with NumPy's dense
linear algebra, one subject at a time."""

from __future__ import annotations

import numpy as np


def conditional_gaussian(h, precision, offset, sigma):
    """Per subject: the mean Q^-1 (h + offset / sigma^2) and the covariance Q^-1 of the
    subject's Gaussian posterior, Q = precision + diag(1 / sigma^2)."""
    means, covariances = [], []
    for h_s, precision_s, offset_s in zip(h, precision, offset, strict=True):
        q = precision_s + np.diag(1.0 / sigma**2)
        covariance = np.linalg.inv(q)
        means.append(covariance @ (h_s + offset_s / sigma**2))
        covariances.append(covariance)
    return np.array(means), np.array(covariances)


def theta_from_whitened(h, precision, offset, sigma, u):
    """theta_s = m_s + R_s^-T u_s with Q_s = R_s R_s', and log |det d theta / d u|."""
    means, covariances = conditional_gaussian(h, precision, offset, sigma)
    theta, log_jacobian = [], 0.0
    for mean, covariance, u_s in zip(means, covariances, u, strict=True):
        r = np.linalg.cholesky(np.linalg.inv(covariance))
        theta.append(mean + np.linalg.solve(r.T, u_s))
        log_jacobian -= np.sum(np.log(np.diag(r)))
    return np.array(theta), log_jacobian
