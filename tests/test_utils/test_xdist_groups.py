# Copyright (c) skd_det contributors.
"""`make test` keeps each module that trains once for all its tests (a module-scoped fixture)
on one pytest-xdist worker with ``--dist loadgroup`` and an ``xdist_group`` mark; when the
group does not hold, both workers build the fixture and nothing fails but the time. The
grouping depends on pytest-xdist tagging the node id (requirements/lock.txt: why pytest < 9)."""
import pytest

pytestmark = pytest.mark.xdist_group('xdist_group_check')


def test_xdist_group_tags_the_node_id(request):
    if not getattr(request.config.option, 'loadgroup', False):
        pytest.skip('not run by a pytest-xdist worker with --dist loadgroup')
    assert request.node.nodeid.endswith('@xdist_group_check'), (
        f'{request.node.nodeid}: pytest-xdist did not tag the node id with its xdist_group, '
        'so --dist loadgroup spreads grouped modules over the workers (pytest '
        f'{pytest.__version__}; requirements/lock.txt pins the pytest it works with)')
