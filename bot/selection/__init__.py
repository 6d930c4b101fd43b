"""What to run for a change. Pure: changed paths → candidates (``candidates``) → a budgeted,
coverage-ranked plan per resource (``plan``), with the dependency map's types (``depmap``)."""
