"""What a handler may ask for by name, with the marker Litestar 2.25 wants.

    async def handler(self, actor: CurrentActor, settings: AppSettings) -> ...

``actor`` is the authenticated :class:`Actor` (set by the token middleware);
``settings`` the :class:`Settings` the app was built from.
"""

from litestar.di import NamedDependency

from server.actor import Actor
from server.settings import Settings

CurrentActor = NamedDependency[Actor]
AppSettings = NamedDependency[Settings]
