"""A small project for the browser tests: pages of every kind the injection
must leave right, a view that echoes what it received, and a static file.

LIVESITE_RUNSERVER chooses whose runserver the project runs: unset,
Django's (staticfiles'); "own", the ownserver app's, which serves with a
server of its own; "daphne", Daphne's, which serves the ASGI application
(asgi.py, routed as a Channels project routes it), as Django's docs tell
Channels projects to."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "django-insecure-livesite-only-for-tests"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "livesite"]
# Django's runserver is the first installed app's that has one.
if os.environ.get("LIVESITE_RUNSERVER") == "own":
    INSTALLED_APPS.insert(0, "ownserver")
elif os.environ.get("LIVESITE_RUNSERVER") == "daphne":
    INSTALLED_APPS.insert(0, "daphne")
ASGI_APPLICATION = "livesite.asgi.application"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "livesite.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {}
STATIC_URL = "/static/"
DATA_UPLOAD_MAX_MEMORY_SIZE = None
USE_TZ = True
