from django.apps import AppConfig
from django.conf import settings


class HabitappConfig(AppConfig):
    name = 'habitapp'

    def ready(self):
        if 'database' in settings.HABITS:
            # A query while Django is set up: the connection stays open.
            from django.db import connection
            with connection.cursor() as cursor:
                cursor.execute('SELECT 1')
