"""The staff web console (`python -m staff.web` or `ka2-staff web`): see app.py and docs/staff/console.md."""
