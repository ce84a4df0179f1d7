"""The suite's own setup: what makes ``make test`` share its fits across tests."""

import pytest


@pytest.mark.xdist_group("suite_setup")
def test_xdist_groups_reach_the_scheduler(request):
    # pytest-xdist sends a group to one worker by suffixing each node id with "@group";
    # a pytest that keeps the id elsewhere drops the suffix, every group is ignored
    # and each worker fits the shared fixtures again (see the dev pins in pyproject.toml)
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run with --dist loadgroup")
    assert request.node.nodeid.endswith("@suite_setup"), request.node.nodeid
