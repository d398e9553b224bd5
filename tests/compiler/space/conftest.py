"""Fixtures of the choice-table tests (helpers live in `space_helpers`)."""

from __future__ import annotations

import pytest

from archc.compiler.space import ChoiceTable
from tests.compiler.space.space_helpers import KINDS_SPACE, table_of


@pytest.fixture(scope="session")
def kinds_table() -> ChoiceTable:
    return table_of(KINDS_SPACE)
