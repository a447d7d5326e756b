"""Where a project is submitted.

The rule of the source document and the complements, as a pure function of what the user said (actions,
applicant, sectors, community).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from .knowledge import KnowledgeBase


@dataclass(frozen=True)
class Routing:
    """The agencies that receive the project, and why (a key of messages.yml)."""

    agencies: List[str]
    reason: str
    sector: Optional[str] = None
    community: Optional[str] = None
    action: Optional[str] = None
    applicant: Optional[str] = None
    choices: List[str] = field(default_factory=list)  # several sectors named: one agency each


def community_agency(kb: KnowledgeBase, community: Optional[str], agency_id: str) -> str:
    """The agency of the applicant's community in place of the Fédération Wallonie-Bruxelles' one."""
    if not community:
        return agency_id
    return str(kb.entries[community]["agency_for"].get(agency_id, agency_id))


def route(
    kb: KnowledgeBase,
    sectors: Sequence[str] = (),
    actions: Sequence[str] = (),
    applicants: Sequence[str] = (),
    community: Optional[str] = None,
) -> Optional[Routing]:
    """None when the question does not say enough (no sector, action, applicant or community)."""
    centralised = [a for a in actions if kb.entries[a].get("management") == "centralised"]
    if centralised:
        action = kb.entries[centralised[0]]
        return Routing(list(action["managed_by"]), "route_centralised", action=action["id"])
    if applicants:
        return Routing([kb.entries[applicants[0]]["agency"]], "route_applicant", applicant=applicants[0])
    national = [s for s in sectors if kb.entries[s]["agency"] in kb.national_agencies]
    european = [s for s in sectors if s not in national]
    if european and not national:
        sector = kb.entries[european[0]]
        return Routing([sector["agency"]], "route_sector_european", sector=sector["id"])
    if len(set(kb.entries[s]["agency"] for s in national)) > 1:
        return Routing([], "route_several_sectors", community=community, choices=list(national))
    if national:
        sector = kb.entries[national[0]]
        agency = community_agency(kb, community, sector["agency"])
        reason = "route_sector_community" if community and agency != sector["agency"] else "route_sector"
        return Routing([agency], reason, sector=sector["id"], community=community)
    if community:
        agencies = list(dict.fromkeys(kb.entries[community]["agency_for"].values()))
        return Routing(agencies, "route_community", community=community)
    return None
