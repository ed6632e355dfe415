"""What a handler may ask for by name, with the marker Litestar 2.25 wants.

    async def handler(self, actor: CurrentActor, settings: AppSettings, context: AppContext) -> ...

``actor`` is the authenticated :class:`Actor` (set by the token middleware);
``settings`` the :class:`Settings` the app was built from; ``context`` the app's
:class:`Context` (those settings and its clock), what services take.
"""

from litestar.di import NamedDependency

from server.actor import Actor
from server.context import Context
from server.settings import Settings

CurrentActor = NamedDependency[Actor]
AppSettings = NamedDependency[Settings]
AppContext = NamedDependency[Context]
