"""The instructor's grader (``course-grade``), apart from the modules students import.

A score comes only from code the student cannot touch: the student's notebook runs in a sandboxed
kernel that never receives a hidden test (:mod:`.runner`, :mod:`.sandbox`, :mod:`.kernel`, :mod:`.agent`);
the tests run in a separate checker process (:mod:`.check`, :mod:`.worker`) that calls the student's
functions through proxies (:mod:`.proxy`) and receives plain data only (:mod:`.wire`). Around it, one
module per stage: :mod:`.collect`, :mod:`.autograde`, :mod:`.record`, :mod:`.feedback`, :mod:`.export`
and the command line, :mod:`.cli`.

Nothing here is imported by ``import course_utils``.
"""
