import logging
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse

import habitapp.models

if 'sharedmem' in settings.HABITS:
    import shmlib
if 'thread' in settings.HABITS:
    import threadlib  # noqa: F401
if 'cthread' in settings.HABITS:
    import cthreadlib  # noqa: F401

VIEW = 'v1'


def fresh(request):
    parts = ['view=' + VIEW, 'setup=' + ('here' if habitapp.models.LOADED_BY == os.getpid() else 'ahead')]
    if 'sharedmem' in settings.HABITS:
        with shmlib.COUNTER.get_lock():
            shmlib.COUNTER.value += 1
            parts.append('counter=%d' % shmlib.COUNTER.value)
    if 'dotenv' in settings.HABITS:
        parts += ['env=' + os.environ.get('HABIT_VALUE', ''), 'setting=' + settings.HABIT_VALUE]
    if 'logfile' in settings.HABITS:
        logging.getLogger('habits').info('served %s by %d', VIEW, os.getpid())
    if 'database' in settings.HABITS:
        with connection.cursor() as cursor:
            cursor.execute('SELECT 41 + 1')
            parts.append('db=%d' % cursor.fetchone()[0])
    return HttpResponse(' '.join(parts))
