"""Residents and their ties: sizes, hierarchy, symmetric ties, row-normalised influence, shares."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from model.parameters import PopulationParameters, SocialParameters
from model.population import Population, build_population

SMALL = PopulationParameters(
    streets=2, communities_per_street=2, grids_per_community=3, residents_per_grid=90
)
LARGE = PopulationParameters(
    streets=1, communities_per_street=10, grids_per_community=10, residents_per_grid=1000
)


def build(
    population: PopulationParameters = SMALL, social: SocialParameters | None = None, seed: int = 7
) -> Population:
    """Build a population with a seeded generator."""
    return build_population(population, social or SocialParameters(), np.random.default_rng(seed))


@pytest.fixture(scope="module")
def large() -> Population:
    """100,000 residents (100 grids of 1,000) with default social parameters."""
    return build(LARGE, seed=2024)


def test_sizes_and_hierarchy() -> None:
    """Every grid holds residents_per_grid residents; grids nest in communities, communities in streets."""
    pop = build()
    assert pop.size == SMALL.residents == 2 * 2 * 3 * 90, (
        f"expected {SMALL.residents} residents, got {pop.size}"
    )
    counts = np.bincount(pop.grid, minlength=SMALL.grids)
    assert (counts == SMALL.residents_per_grid).all(), f"grid sizes {counts} should all be 90"
    assert (np.diff(pop.grid) >= 0).all(), "residents are stored grid by grid"
    assert (pop.community == pop.grid // SMALL.grids_per_community).all(), (
        "grid → community mapping"
    )
    assert (pop.street == pop.community // SMALL.communities_per_street).all(), (
        "community → street mapping"
    )
    for name in (
        "community",
        "street",
        "building",
        "household",
        "age_group",
        "party_member",
        "trust",
    ):
        assert getattr(pop, name).shape == (pop.size,), (
            f"column {name} should have one entry per resident"
        )


def test_buildings_lie_within_one_grid() -> None:
    """No building spans two grids (buildings are the unit below the grid)."""
    pop = build()
    grids_per_building = {b: set() for b in np.unique(pop.building).tolist()}
    for b, g in zip(pop.building.tolist(), pop.grid.tolist(), strict=True):
        grids_per_building[b].add(g)
    spanning = [b for b, grids in grids_per_building.items() if len(grids) > 1]
    assert not spanning, f"buildings {spanning[:5]} span several grids"
    sizes = np.bincount(pop.building)
    assert sizes.max() <= SMALL.residents_per_building, "no building exceeds residents_per_building"


def test_households_contiguous_with_mean_size(large: Population) -> None:
    """Households are runs of consecutive residents with the configured mean size."""
    household = large.household
    assert (np.diff(household) >= 0).all(), "household ids should be non-decreasing"
    assert (np.diff(household) <= 1).all(), "household ids should have no gaps"
    mean_size = large.size / (household.max() + 1)
    assert mean_size == pytest.approx(LARGE.household_size, abs=0.1), (
        f"mean household size {mean_size:.2f}"
    )


def test_ties_symmetric_zero_diagonal() -> None:
    """Social ties form a symmetric 0/1 matrix with no self-ties."""
    pop = build()
    ties = pop.ties
    assert ties.shape == (pop.size, pop.size), "ties are resident × resident"
    assert (ties - ties.T).count_nonzero() == 0, "ties should be symmetric"
    assert ties.diagonal().sum() == 0, "no resident is tied to themself"
    assert np.all(ties.data == 1.0), "ties are 0/1"
    degree = np.asarray(ties.sum(axis=1)).ravel()
    assert degree.mean() > 2, f"residents should know a few people, mean degree {degree.mean():.2f}"


def test_household_members_are_tied() -> None:
    """Members of one household all know each other."""
    pop = build()
    ties = pop.ties.tocsr()
    for h in np.unique(pop.household)[:200].tolist():
        members = np.flatnonzero(pop.household == h)
        block = ties[members][:, members].toarray()
        expected = np.ones_like(block) - np.eye(len(members))
        assert (block == expected).all(), f"household {h} ({members.tolist()}) is not fully tied"


def test_influence_rows_sum_to_one(large: Population) -> None:
    """Influence is the row-normalised tie matrix: each row sums to 1 (0 for an isolated resident)."""
    sums = np.asarray(large.influence.sum(axis=1)).ravel()
    degree = np.asarray(large.ties.sum(axis=1)).ravel()
    assert np.allclose(sums[degree > 0], 1.0), "rows of residents with ties should sum to 1"
    assert np.all(sums[degree == 0] == 0.0), "rows of isolated residents should be 0"
    assert large.influence.nnz == large.ties.nnz, "influence keeps the pattern of the ties"


def test_isolated_residents_have_zero_influence_rows() -> None:
    """Without households, building or weak ties everyone is isolated and influence is all zero."""
    alone = SMALL.model_copy(update={"household_size": 1.0})
    pop = build(alone, SocialParameters(building_ties_per_resident=0, weak_ties_per_resident=0))
    assert pop.ties.nnz == 0, "no ties expected"
    assert isinstance(pop.influence, sp.spmatrix | sp.sparray), "influence is sparse"
    assert np.asarray(pop.influence.sum(axis=1)).ravel().max() == 0.0, (
        "influence rows of isolated residents are 0"
    )


def test_party_share_near_national_figure(large: Population) -> None:
    """About 7.1 % of residents are party members (F7.1) and about half of them volunteer."""
    share = large.party_member.mean()
    assert share == pytest.approx(0.071, abs=0.005), (
        f"party member share {share:.4f}, expected ≈ 0.071"
    )
    assert not (large.volunteer & ~large.party_member).any(), "only party members volunteer"
    volunteer_share = large.volunteer.sum() / large.party_member.sum()
    assert volunteer_share == pytest.approx(LARGE.party_volunteer_share, abs=0.03), (
        f"volunteer share of members {volunteer_share:.3f}"
    )


def test_age_groups_and_trust(large: Population) -> None:
    """Age groups follow their shares and initial trust lies in [0, 1] around its mean."""
    shares = np.bincount(large.age_group, minlength=len(large.age_groups)) / large.size
    for g, group in enumerate(large.age_groups):
        expected = LARGE.age_group_shares[group]
        assert shares[g] == pytest.approx(expected, abs=0.01), (
            f"age group {group}: {shares[g]:.3f} vs {expected}"
        )
    assert large.trust.min() >= 0.0 and large.trust.max() <= 1.0, "trust must lie in [0, 1]"
    # initial trust is a normal draw clipped to [0, 1]: its mean is the clipped normal's
    m, sd = LARGE.initial_trust_mean, LARGE.initial_trust_sd
    grid = np.linspace(-8.0, 8.0, 20001)
    weights = np.exp(-0.5 * grid**2)
    clipped = float(np.sum(np.clip(m + sd * grid, 0.0, 1.0) * weights) / np.sum(weights))
    assert large.trust.mean() == pytest.approx(clipped, abs=0.01), "mean trust"


def test_same_seed_same_population() -> None:
    """The same generator seed builds the same residents and ties; another seed does not."""
    a, b, c = build(seed=11), build(seed=11), build(seed=12)
    for name in ("household", "age_group", "party_member", "volunteer", "trust"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), (
            f"{name} differs under the same seed"
        )
    assert (a.ties != b.ties).nnz == 0, "ties differ under the same seed"
    assert not np.array_equal(a.trust, c.trust), "a different seed should give different residents"


def test_isolated_residents_keep_their_trust() -> None:
    """Trust diffusion leaves residents without ties where they are (no pull toward zero)."""
    from model.governance import GovernanceModel
    from model.parameters import ModelParameters

    params = ModelParameters.model_validate(
        {
            "population": {
                "communities_per_street": 1,
                "grids_per_community": 1,
                "household_size": 1.0,
            },
            "social": {"building_ties_per_resident": 0, "weak_ties_per_resident": 0},
            "demand": {
                "needs_per_resident_per_year": 0.0,
                "neighbour_disputes_per_resident_per_year": 0.0,
                "collective_issues_per_community_per_year": 0.0,
            },
            "detection": {"public_problems_per_resident_per_year": 0.0},
        }
    )
    model = GovernanceModel(params, seed=5)
    assert model.population.isolated.all(), "this population has no ties at all"
    before = model.population.trust.copy()
    model.run(30)
    assert np.allclose(model.population.trust, before), "isolated residents' trust must not drift"
