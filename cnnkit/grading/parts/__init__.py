"""Graded parts, one module per assignment; importing a module registers its parts."""

from . import architecture  # noqa: F401  (01-architecture)
from . import convolution  # noqa: F401  (02-convolution)
from . import feature_maps  # noqa: F401  (03-feature-maps)
from . import max_pooling  # noqa: F401  (04-max-pooling)
from . import other_pooling  # noqa: F401  (05-other-pooling)
from . import sequential_models  # noqa: F401  (06-sequential-models)
from . import case_study  # noqa: F401  (07-case-study)
