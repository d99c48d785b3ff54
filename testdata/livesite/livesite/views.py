import hashlib
import json
import os
import time

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page

VERSION = "v1"


def page(request):
    return render(request, "page.html", {"version": VERSION, "pid": os.getpid()})


def form(request):
    """A form on a page taller than the window: what a reload must keep."""
    return render(request, "form.html", {"version": VERSION})


def version(request):
    return HttpResponse(VERSION, content_type="text/plain")


def nobody(request):
    # A whole document that omits </body>, as HTML allows.
    return HttpResponse("<!DOCTYPE html>\n<!-- no end tags -->\n<html><title>nobody</title><p>no end of body\n",
                        content_type="text/html")


def warm(request):
    """What Django had built when this request came: a server's first
    request finds it all ready."""
    from django.contrib.staticfiles import finders
    from django.template import engines
    from django.template.base import filter_re
    from django.conf import settings
    from django.urls import URLResolver, get_resolver
    from django.utils.functional import empty
    from django.utils.translation import trans_real
    resolvers, pending = [], [get_resolver()]
    while pending:
        resolvers.append(pending.pop())
        pending += [p for p in resolvers[-1].url_patterns if isinstance(p, URLResolver)]
    return JsonResponse({
        "url reverse tables": all(r._populated for r in resolvers),
        "namespaced url reverse tables": len(resolvers) > 1 and resolvers[-1]._populated,
        "template engines": bool(engines._engines),
        "template syntax": filter_re._wrapped is not empty,
        "static finders": finders.get_finder.cache_info().currsize > 0,
        "translations": settings.LANGUAGE_CODE in trans_real._translations,
    })


def fragment(request):
    # What htmx swaps into a page: no document of its own.
    return HttpResponse('<p id="fragment">a fragment</p>', content_type="text/html")


def csp(request):
    response = HttpResponse("<html><body><p>strict</p></body></html>")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@gzip_page
def gzipped(request):
    return HttpResponse("<html><body>" + "<p>compressed</p>" * 100 + "</body></html>")


def stream(request):
    def chunks():
        for i in range(3):
            yield "<p>chunk %d</p>" % i
            time.sleep(0.05)
        yield "</body></html>"

    return StreamingHttpResponse(chunks(), content_type="text/html")


@csrf_exempt
def echo(request):
    headers = {k: v for k, v in request.META.items() if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")}
    return JsonResponse({
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "host": request.get_host(),
        "method": request.method,
        "path": request.get_full_path(),
        "headers": headers,
        "sha256": hashlib.sha256(request.body).hexdigest(),
        "length": len(request.body),
    })


@csrf_exempt
def post(request):
    """Counts the POSTs it received, in a file beside manage.py."""
    log = os.path.join(os.path.dirname(os.path.dirname(__file__)), "posts.log")
    with open(log, "a") as f:
        f.write(request.body.decode() + "\n")
    return HttpResponse("posted " + request.body.decode(), content_type="text/plain")
