from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine


@pytest.fixture
def midday():
    """Journeys type times of day: run them at a fixed midday so they never cross midnight."""
    with time_machine.travel(
        datetime(2026, 6, 15, 12, 0, tzinfo=ZoneInfo("Europe/London")), tick=True
    ):
        yield
