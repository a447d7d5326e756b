"""ka2.routing: where a project is submitted, from what the user said."""

from __future__ import annotations

from ka2.routing import route


def test_the_sector_decides_between_bij_and_aef_europe(kb):
    assert route(kb, ["sector.youth"]).agencies == ["agency.bij"]
    assert route(kb, ["sector.school"]).agencies == ["agency.aef_europe"]
    assert route(kb, ["sector.vet"]).reason == "route_sector"


def test_sport_centralised_actions_and_european_ngos_go_to_the_executive_agency(kb):
    assert route(kb, ["sector.sport"]).agencies == ["agency.eacea"]
    assert route(kb, ["sector.school"], ["action.excellence"]).agencies == ["agency.eacea"]
    assert route(kb, ["sector.school"], applicants=["topic.european_ngos"]).agencies == ["agency.eacea"]


def test_other_communities_have_their_own_agencies(kb):
    assert route(kb, ["sector.school"], community="community.flemish").agencies == ["agency.epos"]
    assert route(kb, ["sector.youth"], community="community.flemish").agencies == ["agency.jint"]
    assert route(kb, ["sector.youth"], community="community.german").agencies == ["agency.jugendbuero"]
    assert set(route(kb, community="community.flemish").agencies) == {"agency.epos", "agency.jint"}
    assert route(kb, ["sector.youth"], community="community.french").agencies == ["agency.bij"]


def test_several_sectors_of_different_agencies_get_the_rule(kb):
    routing = route(kb, ["sector.youth", "sector.adult_ed"])
    assert routing.reason == "route_several_sectors" and routing.choices == ["sector.youth", "sector.adult_ed"]
    assert route(kb, ["sector.school", "sector.vet"]).agencies == ["agency.aef_europe"]


def test_nothing_said_nothing_decided(kb):
    assert route(kb) is None
