"""The static dashboard: the history as a site a team can open every day.

``site.build`` reads the history once and writes HTML pages, the dashboard's own CSS and
scripts, the vendored chart library (uPlot, ``static/vendor/``) and one JSON data file per
chart page. It opens from ``file://`` and from GitHub Pages, with no server and no CDN.

- ``trend``, ``sessions``, ``reports``, ``pages``, ``markdown``: pure view models;
- ``commits``: commit dates and subjects, through ``bot.git``;
- ``render``, ``site``: the pages and files.
"""
