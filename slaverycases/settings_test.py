"""Settings for the test suite: the real settings with test-only conveniences."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Two-factor is on in production; the tests of it switch it on (tests/security/).
os.environ.setdefault("TWO_FACTOR_REQUIRED", "0")

from slaverycases.settings import *  # noqa: F403
from slaverycases.settings import DATABASES, STORAGES

# live_server serves static files through the finders: no manifest needed.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Celery tasks queued by the app run in-process in tests (after commit); the worker tests
# switch this off and use a real worker over Redis.
CELERY_TASK_ALWAYS_EAGER = True
