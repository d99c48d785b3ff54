"""A runserver of the app's own, as some packages ship one: it serves the
project's WSGI application with the standard library's wsgiref server, not
runserver's, under Django's reloader. The backend can neither hand it the
kept socket nor add the page script to what it serves."""
import sys
from wsgiref.simple_server import make_server

from django.core.management.base import BaseCommand
from django.core.wsgi import get_wsgi_application
from django.utils import autoreload


class Command(BaseCommand):
    help = "Serves the project with wsgiref."

    def add_arguments(self, parser):
        parser.add_argument("addrport")
        parser.add_argument("--noreload", action="store_false", dest="use_reloader")

    def handle(self, addrport, use_reloader=True, **options):
        host, _, port = addrport.rpartition(":")

        def serve():
            httpd = make_server(host or "127.0.0.1", int(port), get_wsgi_application())
            sys.stderr.write("ownserver: serving on http://%s/\n" % addrport)
            httpd.serve_forever()

        if use_reloader:
            autoreload.run_with_reloader(serve)
        else:
            serve()
