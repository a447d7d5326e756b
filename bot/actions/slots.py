"""Every slot name the actions read or set, written once; each is a slot of bot/domain.yml.

`tests/actions/test_slots.py` checks the names against the domain, so a renamed slot fails a test
rather than an answer.
"""

from __future__ import annotations

from rasa_sdk.knowledge_base.utils import SLOT_LAST_OBJECT, SLOT_LAST_OBJECT_TYPE, SLOT_LISTED_OBJECTS, SLOT_MENTION

# Rasa's own: the slot a form is asking for (not declared in the domain).
REQUESTED_SLOT = "requested_slot"

# rasa_sdk's knowledge-base slots ("le deuxième ?", "et celui-là ?"), re-exported under one roof.
LAST_OBJECT = SLOT_LAST_OBJECT
LAST_OBJECT_TYPE = SLOT_LAST_OBJECT_TYPE
LISTED_OBJECTS = SLOT_LISTED_OBJECTS
MENTION = SLOT_MENTION

# The question the assistant asked back ("dans quel secteur ?"), answered by the next message.
PENDING_QUESTION = "pending_question"
# The conversation frame (ka2.understanding.Frame), kept in slots so that it survives a restart.
LAST_KINDS = "last_kinds"
LAST_ENTITIES = "last_entities"
# What the user said of themselves, remembered for the whole conversation.
USER_SECTOR = "user_sector"
USER_COMMUNITY = "user_community"

# The priority-matching form (project_matching.py).
MATCHING_FORM = "project_matching_form"
PROJECT_SECTOR = "project_sector"
PROJECT_DESCRIPTION = "project_description"
ORGANISATION_PROFILE = "organisation_profile"
PROJECT_DESCRIPTION_DRAFT = "project_description_draft"
MATCHING_SLOTS = (PROJECT_SECTOR, PROJECT_DESCRIPTION, ORGANISATION_PROFILE, PROJECT_DESCRIPTION_DRAFT)

# The handoff form (handoff.py).
HANDOFF_FORM = "handoff_form"
HANDOFF_NAME = "handoff_name"
HANDOFF_EMAIL = "handoff_email"
HANDOFF_SECTOR = "handoff_sector"
HANDOFF_QUESTION = "handoff_question"
HANDOFF_CONFIRMED = "handoff_confirmed"
HANDOFF_SLOTS = (HANDOFF_NAME, HANDOFF_EMAIL, HANDOFF_SECTOR, HANDOFF_QUESTION, HANDOFF_CONFIRMED)
