"""A small project for the browser tests: pages of every kind the injection
must leave right, a view that echoes what it received, and a static file."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "django-insecure-livesite-only-for-tests"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "livesite"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "livesite.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {}
STATIC_URL = "/static/"
DATA_UPLOAD_MAX_MEMORY_SIZE = None
USE_TZ = True
