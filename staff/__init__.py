"""`ka2-staff`: the command-line console of the agencies' helpdesk staff (see docs/staff/)."""
