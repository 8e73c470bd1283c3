"""The standalone app's settings, read from the environment (see ``lms.config``)."""
from lms.config import from_environment  # noqa: F401
