"""The auto-shrinker: production code and config at a fraction of the compute.

Pure: ``rules`` (rule kinds, dotted paths), ``auto`` (the names it recognises, the shrinker
proper), ``spec`` (a scenario's ``shrink:`` block), ``argv`` (command lines: the program, the
values each argument sets), ``literal`` (values read and written in their own syntax),
``pyconfig`` (Python files of ``name = value``, read with ``ast``), ``hydra`` (Hydra config
composition), ``command`` (a command shrunk in place, one argument at a time).
``sources`` and ``apply`` are the edge: they read and write config files and run the project's
own validation.
"""
