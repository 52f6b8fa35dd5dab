"""Publishing the course for students (instructor side; not part of the student edition).

- :mod:`course_utils.publish.edition`  the student edition: a separate repository tree without solutions,
                                       hidden tests or grading internals
- :mod:`course_utils.publish.site`     the course website, built from a student edition

``python -m course_utils.publish edition DIR [--repo URL]`` (``make student-edition DIR=...``).
"""
