"""The office console (办公控制台): server-rendered pages over the domain services, for admins, supervisors, legal reviewers and leaders.

Layout: ``session`` (cookie, actor, CSRF), ``web`` (the guard, error pages, rendering, the router),
``navigation`` (menu by role), ``paging`` (filterable, paged tables); one module per page group
(``auth_pages``, …). Templates and css live in ``web/console/``.
"""
