"""The agent laboratory: phases from literature review to publishing, agents with
structured actions, checkpoints and co-pilot mode. The code its agents write runs in
``agentrxiv.sandbox``.

Callers that run a lab as one unit of work use ``agentrxiv.lab.session.run_lab_result``:
the lab runs its configured after-publish steps (verification, insights) itself and
returns a typed ``LabResult``."""
