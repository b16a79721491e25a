"""The agent laboratory: phases from literature review to publishing, agents with
structured actions, the sandbox for generated code, checkpoints and co-pilot mode."""
