"""The pipelines: what each engine command does from typed options to written outputs.

``comparing.compare`` is the one compare pipeline (the CLI, the PR bench, the release suite
and the demo call it); ``measuring``, ``bisecting``, ``calibrating``, ``release_suite`` and
``demo_run`` are the other commands' cores. ``options`` holds their typed inputs. The command
line and the GitHub flows call these, never the engine's internals.
"""
