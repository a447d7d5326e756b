"""Tests of the core package ka2 and of the knowledge base: no model, no server."""
