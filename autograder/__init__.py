"""The course's grading tools: release student versions, grade a class.

Run ``python -m autograder --help``.
"""
