"""Test doubles for tests and benchmarks, not product code: the scripted lab agents and the
answer-key target model (``scripted_lab``). The top layer of the import contract, so no
product package can import it; campaigns reach it only by name, through the
``worker_setup: agentrxiv.testing.scripted_lab:setup`` hook of a test's campaign config."""
