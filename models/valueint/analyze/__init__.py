"""The analyses of human data behind ``valueint analyze``: prosocial learning (Cutler et
al. 2021; ``prosocial`` and its ``prosocial_*`` parts) and count-level paradigms such as
praise and cheating (Zhao et al. 2017; ``paradigm``).  They take a ``report`` callable for
progress and raise ordinary errors; the commands live in ``valueint.cli.analyze``."""
