"""The manuscript builder's parts, one concern each; ``paper/manuscript/build.py`` is the
entry point and puts this folder's parent on ``sys.path`` (so ``provenance`` and
``builder`` import as top-level modules).

- ``formatting``: every number's text;
- ``values``: the values file (``Values``) and helpers that read rows and fields;
- ``criteria``: the package's thresholds, imported from ``valueint``, and convergence;
- one module per study: ``simulations``, ``zhao`` (praise and cheating, and the design
  study), ``prosocial``, ``trust``, ``calibration``;
- ``limitations``: the limitations and the provenance note.
"""
