#!/usr/bin/env python3
"""A project with the habits of real ones that a preloader meets. HABITS
(comma-separated) turns them on: logfile, writefile, sharedmem, thread,
socket, dotenv, database. See habits/settings.py."""
import os
import sys

if __name__ == '__main__':
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'habits.settings')
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
