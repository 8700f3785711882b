"""Graded parts, one module per assignment (``ASSIGNMENT = "NN-topic"``).

Every module here is found by listing this package
(:func:`autograder.grading.registry.load_parts`): add a module, nothing else.
"""
