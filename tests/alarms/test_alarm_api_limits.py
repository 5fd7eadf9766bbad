"""The alarm routes refuse query numbers they cannot use (inf, nan, 1e400, negative limits) with a 400."""

from __future__ import annotations

import pytest

from tests.alarms.support import alarm, plant_data, start_plant


@pytest.mark.parametrize("path, query", [
    ("/v1/alarms/history", {"limit": "inf"}),
    ("/v1/alarms/history", {"limit": "nan"}),
    ("/v1/alarms/history", {"since": "1e400"}),
    ("/v1/alarms/deliveries", {"limit": "-1"}),
    ("/v1/alarms/kpi", {"period_s": "nan"}),
])
def test_query_numbers_out_of_range_get_a_400_that_names_them(tmp_path, plants, path, query):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")]))
    response = plant.call("GET", path, query=query)
    [name] = query
    assert response.status == 400 and name in response.body["error"]

