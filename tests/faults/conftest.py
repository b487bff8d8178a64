"""The fault tests use the e2e suite's web app on a real port (mailing to a real SMTP server)."""
from tests.e2e.conftest import site  # noqa: F401  (a fixture, found by name)
