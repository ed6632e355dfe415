"""No import cycle between the top-level packages of server/ beyond the written list of arrows that still close one.

The graph is server/'s own import graph (grimp, the library import-linter is built on), every import
counted, those inside functions too; a node is a top-level package or module (``server.hazards``,
``server.deps``). Taking away the arrows in :data:`KNOWN_BACK_EDGES` must leave it acyclic, so any
new import that closes a cycle fails here, naming the cycle. Each listed arrow must still exist: once
one is removed from the code the list has to shrink with it (issue 11 asks for the list to be empty).
"""

from __future__ import annotations

from collections import defaultdict

import grimp

#: Arrows (importer -> imported package) that close a cycle today, each with the imports behind it.
KNOWN_BACK_EDGES: dict[tuple[str, str], str] = {
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_edges() -> dict[tuple[str, str], list[str]]:
    """Every arrow between two top-level server packages, with the module imports behind it."""
    graph = grimp.build_graph("server", include_external_packages=False, cache_dir=None)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = _package(module), _package(imported)
            if a and b and a != b:
                edges[(a, b)].append(f"{module} -> {imported}")
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` as a path (first node repeated last), or None."""
    successors: dict[str, list[str]] = defaultdict(list)
    for a, b in sorted(edges):
        successors[a].append(b)
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in successors[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(successors):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_cycle_between_server_packages_beyond_the_known_arrows():
    edges = package_edges()
    cycle = find_cycle(set(edges) - set(KNOWN_BACK_EDGES))
    if cycle:
        arrows = [f"  {a} -> {b}: " + "; ".join(edges[(a, b)][:3]) for a, b in zip(cycle, cycle[1:])]
        raise AssertionError("import cycle between server packages:\n" + "\n".join(arrows))


def _reaches(edges: set[tuple[str, str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                if b == goal:
                    return True
                seen.add(b)
                todo.append(b)
    return False


def test_every_known_arrow_still_exists_and_closes_a_cycle():
    edges = package_edges()
    gone = sorted(set(KNOWN_BACK_EDGES) - set(edges))
    assert not gone, f"these arrows are gone from the code: drop them from KNOWN_BACK_EDGES: {gone}"
    harmless = sorted((a, b) for a, b in KNOWN_BACK_EDGES if not _reaches(set(edges), b, a))
    assert not harmless, f"these arrows close no cycle any more: drop them from KNOWN_BACK_EDGES: {harmless}"


def test_the_check_finds_a_cycle():
    assert find_cycle({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == ["a", "b", "c", "a"]
    assert find_cycle({("a", "b"), ("b", "c"), ("a", "c")}) is None
