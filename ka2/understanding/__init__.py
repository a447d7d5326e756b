"""Understanding a question below the NLU: its kind, the entities it names, the user's profile, retrieval."""
