"""The theory every half of valueint shares.

- ``feedback``: the praise likelihood P(y | theta . phi) and drawing feedback from it;
- ``belief``: the Gaussian belief over the caregiver's weights and its ADF update;
- ``utility``: how presence weighs social reward against the internal social reward.
"""
