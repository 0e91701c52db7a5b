"""The governance network: district centre → streets/towns → communities → grids, plus departments.

Nodes are ``(level, index)`` tuples; every node has a ``level`` attribute.
Departments hang off the district centre. Mesa's ``discrete_space.Network``
wraps the graph without a layout (``layout=None``: spring layout is slow and
unseeded, docs/design.md "Notes on the libraries").
"""

from __future__ import annotations

from random import Random  # the type of Mesa's own generator (model.random)

import networkx as nx
from mesa.discrete_space import Network

from model.parameters import PopulationParameters
from model.places import Layout


def build_hierarchy(
    population: PopulationParameters, departments: list[str], layout: Layout | None = None
) -> nx.Graph:
    """The governance hierarchy as a tree graph (of ``layout`` when given, model/places.py)."""
    graph = nx.Graph()
    centre = ("centre", 0)
    graph.add_node(centre, level="centre", name="district centre")
    for d, name in enumerate(departments):
        graph.add_node(("department", d), level="department", name=name)
        graph.add_edge(centre, ("department", d))
    if layout is None:
        communities = population.communities_per_street
        grids = population.grids_per_community
        community_street = [c // communities for c in range(population.streets * communities)]
        grid_community = [g // grids for g in range(len(community_street) * grids)]
        streets = population.streets
    else:
        community_street = layout.community_street.tolist()
        grid_community = layout.grid_community.tolist()
        streets = layout.n_streets
    street_communities: list[list[int]] = [[] for _ in range(streets)]
    for c, s in enumerate(community_street):
        street_communities[s].append(c)
    community_grids: list[list[int]] = [[] for _ in community_street]
    for g, c in enumerate(grid_community):
        community_grids[c].append(g)
    for s in range(streets):
        graph.add_node(("street", s), level="street", name=f"street {s}")
        graph.add_edge(centre, ("street", s))
        for c in street_communities[s]:
            graph.add_node(("community", c), level="community", name=f"community {c}")
            graph.add_edge(("street", s), ("community", c))
            for g in community_grids[c]:
                graph.add_node(("grid", g), level="grid", name=f"grid {g}")
                graph.add_edge(("community", c), ("grid", g))
    return graph


def build_space(graph: nx.Graph, rng: Random) -> Network:
    """Mesa's network space over the hierarchy (no layout computed)."""
    return Network(graph, random=rng, layout=None)
