"""The MATH-500 evaluation harness: loader, answer extraction and grading, techniques,
the concurrent runner with Wilson intervals, and the ``agentrxiv bench`` report."""
