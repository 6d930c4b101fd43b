"""GitHub: the API adapter (``api``, the only PyGithub importer), events and ``/ttfb``
commands, the router that sends each event to its flow, and the flows themselves: select,
bench, report, command and release. Importing ``bot.gh.flows`` registers every flow."""
