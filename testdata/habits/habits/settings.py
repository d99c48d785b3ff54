import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HABITS = os.environ.get('HABITS', '').split(',')

SECRET_KEY = 'habits-only-for-tests'
DEBUG = True
ALLOWED_HOSTS = []
INSTALLED_APPS = ['habitapp.apps.HabitappConfig']
MIDDLEWARE = []
ROOT_URLCONF = 'habits.urls'
TEMPLATES = []
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': str(BASE_DIR / 'db.sqlite3')}}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
USE_TZ = True

if 'logfile' in HABITS:
    # A log file, as Mailman 3's and graphite-web's settings have: the
    # handler opens it for appending as the settings are configured.
    LOGGING = {
        'version': 1,
        'disable_existing_loggers': False,
        'handlers': {'file': {'class': 'logging.FileHandler', 'filename': str(BASE_DIR / 'habits.log')}},
        'loggers': {'habits': {'handlers': ['file'], 'level': 'INFO'}},
    }

if 'writefile' in HABITS:
    STARTED = open(BASE_DIR / 'started.txt', 'w')
    STARTED.write('started\n')
    STARTED.flush()

if 'socket' in HABITS:
    # A connection made while the settings load (a cache or broker client
    # that connects at once).
    import socket
    CONNECTION = socket.create_connection(('127.0.0.1', int(os.environ['HABIT_SOCKET_PORT'])))

if 'dotenv' in HABITS:
    # What django-environ's read_env() does.
    with open(BASE_DIR / '.env') as env:
        for line in env:
            key, _, value = line.strip().partition('=')
            if key:
                os.environ.setdefault(key, value)
    HABIT_VALUE = os.environ['HABIT_VALUE']
