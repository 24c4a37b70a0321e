"""A pytest plugin for tests only (`-p fault_timeouts`, with this directory on PYTHONPATH): the hanging cases of
fault_plugin get a timeout of their own, HANG_TIMEOUT seconds, so that a run can keep a generous --timeout for its
ordinary cases. On a loaded 2-core machine the first ordinary case (the session's set-up, its first calls) can take
longer than a hang should be allowed to last. Separate from fault_plugin, which imports the technique registry
that loads fault_plugin itself."""

import pytest

HANG_TIMEOUT = 5


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "test-hang" in item.name:
            item.add_marker(pytest.mark.timeout(HANG_TIMEOUT))
