"""The dispatch table of sync: which service applies each mutation kind, and which scopes a user's phone pulls.

Sync imports no domain. Each domain registers its own handlers and scope providers
(``server/<domain>/sync_handlers.py``, a ``register(registry)`` function), and the composition
root (:mod:`server.sync_handlers`, called by ``create_app``) builds one :class:`Registry` from all
of them and refuses to start while a kind of ``schemas.sync.MUTATION_TYPES`` has no handler.

Adding a kind (after declaring it and appending it to ``MUTATION_TYPES``): register its handler in
its domain's ``sync_handlers.register``: ``registry.handle(AddThing, things_service.apply_add_thing)``.

A handler is ``async def apply_<kind>(ctx: Context, actor: Actor, mutation) -> Applied | Conflict | None``.
It runs inside the push's transaction, in a savepoint of its own: it checks
permission and state, writes, calls ``audit_service.record`` and
``sync_service.publish``, and raises a domain error (``server.errors``) to
reject — everything it did is then rolled back, audit entries and published
changes included. ``None`` means plainly applied. It never commits. ``ctx``
carries the app's settings and clock (:mod:`server.context`).

A kind may also have a bulk handler (``batch=``):
``async def (ctx, actor, mutations) -> list[Applied | Conflict | Exception]``, one
entry per mutation, where an exception is the domain error rejecting that one
(and it must have changed nothing for it). Push hands it each run of
consecutive mutations of that kind and falls back to the single handler, one
at a time, if the bulk call raises.

A scope provider is ``async def (ctx, actor) -> Iterable[str]``: the scope keys
(:mod:`server.sync.scopes`) of that domain the user's phone receives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from schemas import sync as wire
from schemas.base import Mutation
from server.accounts.policy import Actor
from server.context import Context
from server.sync import scopes

Handler = Callable[[Context, Actor, Any], Awaitable[wire.Applied | wire.Conflict | None]]
BatchHandler = Callable[[Context, Actor, Sequence[Any]], Awaitable[list[wire.Applied | wire.Conflict | Exception]]]
ScopeProvider = Callable[[Context, Actor], Awaitable[Iterable[str]]]


def kind_of(mutation_type: type[Mutation]) -> str:
    """The tag a mutation type travels under (``add_hazard``)."""
    return str(mutation_type.__struct_config__.tag)


async def _personal(ctx: Context, actor: Actor) -> Iterable[str]:
    return [scopes.user(actor.user_id)] if actor.user_id else []


class Registry:
    """Mutation handlers by kind and the scope providers of pull, as the domains registered them."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._batch: dict[str, BatchHandler] = {}
        self._scopes: list[ScopeProvider] = [_personal]

    def handle(self, mutation_type: type[Mutation], handler: Handler, *, batch: BatchHandler | None = None) -> None:
        """Make ``handler`` (and ``batch``, if given) apply the mutations of ``mutation_type``; once per kind."""
        kind = kind_of(mutation_type)
        if mutation_type not in wire.MUTATION_TYPES:
            raise ValueError(f"{kind} is not a kind of schemas.sync.MUTATION_TYPES")
        if kind in self._handlers:
            raise ValueError(f"{kind} has a handler already ({self._handlers[kind].__qualname__})")
        self._handlers[kind] = handler
        if batch is not None:
            self._batch[kind] = batch

    def scopes(self, provider: ScopeProvider) -> None:
        """Add ``provider`` to the functions giving a user's scope keys at each pull."""
        self._scopes.append(provider)

    def handler(self, kind: str) -> Handler | None:
        """The handler of ``kind``, or None if this server has none (the mutation is then rejected)."""
        return self._handlers.get(kind)

    def batch_handler(self, kind: str) -> BatchHandler | None:
        return self._batch.get(kind)

    def missing(self) -> list[str]:
        """The kinds of ``MUTATION_TYPES`` nothing registered a handler for."""
        return [kind_of(t) for t in wire.MUTATION_TYPES if kind_of(t) not in self._handlers]

    def check_complete(self) -> Registry:
        """This registry, or ``RuntimeError`` naming the kinds with no handler (the server then refuses to start)."""
        if missing := self.missing():
            raise RuntimeError(f"同步变更类型缺少处理函数 / no handler registered for: {', '.join(missing)}")
        return self

    async def scopes_for(self, ctx: Context, actor: Actor) -> set[str]:
        """Every scope key the actor's phone receives now."""
        keys: set[str] = set()
        for provider in self._scopes:
            keys.update(await provider(ctx, actor))
        return keys
