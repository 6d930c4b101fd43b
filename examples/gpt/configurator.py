"""Command-line overrides for train.py, executed inside its module namespace.

Usage: python train.py [config/some_config.py] [--name=value ...]

A ``.py`` argument is executed (its assignments replace the defaults); every ``--name=value``
then replaces one default, with the value parsed as a Python literal (``--compile=False``,
``--learning_rate=6e-4``) and checked against the default's type. Anything else is an error.
"""

import ast
import sys

for _arg in sys.argv[1:]:
    if not _arg.startswith("--"):
        if not _arg.endswith(".py"):
            sys.exit(f"error: {_arg}: expected a config .py file or --name=value")
        with open(_arg) as _f:
            exec(_f.read())
        continue
    _name, _sep, _text = _arg[2:].partition("=")
    if not _sep or _name not in globals() or _name.startswith("_"):
        sys.exit(f"error: {_arg}: unknown setting {_name!r}")
    try:
        _value = ast.literal_eval(_text)
    except (SyntaxError, ValueError):
        _value = _text  # a bare word is a string: --device=cpu
    if type(_value) is not type(globals()[_name]):
        sys.exit(
            f"error: {_arg}: expected {type(globals()[_name]).__name__}, "
            f"got {type(_value).__name__}"
        )
    globals()[_name] = _value
