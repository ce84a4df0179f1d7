"""The analyses of human data behind ``valueint analyze``, one subpackage or module per
study: prosocial learning across adulthood (Cutler et al. 2021; ``prosocial``), trust
sampling across adolescence (Ma et al. 2022; ``trust_sampling``) and count-level
paradigms such as praise and cheating (Zhao et al. 2017; ``paradigm``).  They take a
``report`` callable for progress and raise ordinary errors; the commands live in
``valueint.cli.analyze``."""
