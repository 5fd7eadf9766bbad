"""Escalation walks, work hours across time zones and DST, flood detection and KPIs - with an injected clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from petra.alarms.config import ContactSpec
from petra.alarms.escalation import Escalation, Notify, Skip
from petra.alarms.flood import FloodDetector, kpis
from petra.alarms.workhours import WorkHours

T0 = 1_700_000_000.0


def contacts(**hours: WorkHours) -> dict[str, ContactSpec]:
    return {
        cid: ContactSpec(cid, cid, phone="+15550000000", escalation_delay_s=delay,
                         work_hours_only=cid in hours, work_hours=hours.get(cid, WorkHours()))
        for cid, delay in (("a", 300.0), ("b", 600.0), ("c", 60.0))
    }


def notified(actions) -> list[str]:
    return [a.contact for a in actions if isinstance(a, Notify)]


def test_the_chain_is_walked_one_contact_per_escalation_delay_and_stops_after_the_last():
    walk = Escalation.start("hi", ("a", "b", "c"), T0)
    people = contacts()
    assert notified(walk.advance(T0, people)) == ["a"]
    assert walk.advance(T0 + 299, people) == []
    assert notified(walk.advance(T0 + 300, people)) == ["b"]
    assert walk.advance(T0 + 899, people) == []
    assert notified(walk.advance(T0 + 900, people)) == ["c"]
    assert walk.advance(T0 + 960, people) == [] and walk.done


def test_repeat_interval_starts_a_new_round_measured_from_the_previous_round_start():
    walk = Escalation.start("hi", ("a", "c"), T0, repeat_interval_s=1800)
    people = contacts()
    walk.advance(T0, people)
    walk.advance(T0 + 300, people)
    assert walk.advance(T0 + 1799, people) == []
    actions = walk.advance(T0 + 1800, people)
    assert notified(actions) == ["a"] and actions[0].round == 2


def test_a_late_wake_catches_up_without_drifting_and_a_long_outage_does_not_burst():
    people = contacts()
    walk = Escalation.start("hi", ("a", "b", "c"), T0)
    walk.advance(T0, people)
    assert notified(walk.advance(T0 + 302, people)) == ["b"]  # 2 s late: b's delay still counts from T0+300
    assert walk.next_at == T0 + 900
    walk2 = Escalation.start("hi", ("a", "b", "c"), T0)
    walk2.advance(T0, people)
    assert notified(walk2.advance(T0 + 10_000, people)) == ["b"]  # after an outage: one step, timed from now
    assert walk2.next_at == T0 + 10_600


def test_contacts_outside_work_hours_are_skipped_and_reported():
    night = WorkHours("UTC", ("mon",), "00:00", "00:01")
    walk = Escalation.start("hi", ("a", "b"), T0)
    actions = walk.advance(T0, contacts(a=night))
    assert [type(a) for a in actions] == [Skip, Notify]
    assert actions[0].contact == "a" and "work hours" in actions[0].reason


def test_when_nobody_is_eligible_the_policy_notifies_everyone_or_the_last_contact():
    never = WorkHours("UTC", (), "08:00", "17:00")
    people = contacts(a=never, b=never, c=never)
    everyone = Escalation.start("hi", ("a", "b", "c"), T0).advance(T0, people, "notify_all")
    assert notified(everyone) == ["a", "b", "c"] and len([a for a in everyone if isinstance(a, Skip)]) == 3
    assert all("policy notify_all" in a.reason for a in everyone if isinstance(a, Notify))
    last = Escalation.start("hi", ("a", "b", "c"), T0).advance(T0, people, "last_contact")
    assert notified(last) == ["c"]


def test_an_escalation_survives_a_round_trip_through_its_dict():
    walk = Escalation.start("hi", ("a", "b"), T0, 600)
    walk.advance(T0, contacts())
    copy = Escalation.from_dict(walk.to_dict())
    assert copy == walk
    assert notified(copy.advance(T0 + 300, contacts())) == ["b"]


def _at(tz: str, *args: int) -> float:
    return datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()


def test_work_hours_use_local_time_in_each_contacts_time_zone():
    zurich = WorkHours("Europe/Zurich", ("mon", "tue", "wed", "thu", "fri"), "08:00", "17:00")
    new_york = WorkHours("America/New_York", ("mon", "tue", "wed", "thu", "fri"), "08:00", "17:00")
    moment = _at("UTC", 2024, 3, 5, 12, 0)  # Tuesday 13:00 in Zurich, 07:00 in New York
    assert zurich.contains(moment)
    assert not new_york.contains(moment)
    assert new_york.contains(moment + 3600)
    assert not zurich.contains(_at("Europe/Zurich", 2024, 3, 9, 10, 0))  # Saturday


def test_work_hours_stay_at_local_08_00_across_a_dst_change():
    hours = WorkHours("Europe/Zurich", ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "08:00", "17:00")
    # 31 March 2024: clocks go from 02:00 to 03:00 (CET -> CEST)
    before, after = _at("Europe/Zurich", 2024, 3, 29, 8, 0), _at("Europe/Zurich", 2024, 4, 2, 8, 0)
    assert hours.contains(before) and hours.contains(after)
    assert not hours.contains(before - 1) and not hours.contains(after - 1)
    # the UTC instant of "08:00" moved by an hour: a fixed UTC offset would have been wrong
    assert (_at("UTC", 2024, 4, 2, 7, 0) - after) == 3600 and hours.contains(_at("UTC", 2024, 4, 2, 6, 0))
    # on the day of the change itself: 06:30 UTC is 07:30 the day before (CET), 08:30 on the day (CEST)
    assert not hours.contains(_at("UTC", 2024, 3, 30, 6, 30))
    assert hours.contains(_at("UTC", 2024, 3, 31, 6, 30))


def test_overnight_work_hours_run_past_midnight_into_the_next_day():
    nights = WorkHours("America/New_York", ("fri",), "22:00", "06:00")
    assert nights.contains(_at("America/New_York", 2024, 11, 1, 23, 0))  # Friday night
    assert nights.contains(_at("America/New_York", 2024, 11, 2, 5, 59))  # Saturday early morning
    assert not nights.contains(_at("America/New_York", 2024, 11, 2, 23, 0))


def test_more_than_ten_alarms_in_ten_minutes_is_a_flood_that_ends_when_the_rate_drops():
    flood = FloodDetector(10, 600)
    results = [flood.record(T0 + i) for i in range(11)]
    assert results[:10] == [None] * 10 and results[10] == "started"
    assert flood.active and flood.ends_at() == T0 + 600
    assert flood.check(T0 + 599) is None
    assert flood.check(T0 + 600) == "ended" and flood.floods == 1


def test_kpis_count_rates_floods_stale_and_the_most_frequent_alarms():
    now = T0 + 86400
    events = [{"alarm": "a", "event": "raised", "time": now - 100 + i} for i in range(12)]
    events += [{"alarm": "b", "event": "raised", "time": now - 5000}, {"alarm": "", "event": "flood_started",
                                                                       "time": now - 90}]
    alarms = [{"id": "a", "active": True, "raised_at": now - 90_000, "acked": False, "state": "active_unacked"},
              {"id": "b", "active": False, "acked": True, "state": "normal", "chattering": True}]
    k = kpis(events, alarms, now)
    assert k["alarms"] == 13 and k["floods"] == 1 and k["alarms_per_10min_max"] == 12
    assert k["stale"] == ["a"] and k["chattering"] == ["b"] and k["unacked"] == 1
    assert k["top10"][0] == {"alarm": "a", "count": 12}


def test_a_flood_restored_from_its_raise_times_goes_on_without_starting_again():
    flood = FloodDetector(3, 600)
    flood.restore([100.0, 200.0, 300.0, 400.0], now=500.0)
    assert flood.active and flood.ends_at() == 700.0
    assert flood.record(510.0) is None and flood.floods == 0
    stale = FloodDetector(3, 600)
    stale.restore([100.0, 200.0, 300.0, 400.0], now=750.0)  # the oldest has left the window
    assert not stale.active
