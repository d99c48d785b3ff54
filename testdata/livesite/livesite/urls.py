from django.urls import path

from . import views

urlpatterns = [
    path("", views.page),
    path("version", views.version),
    path("nobody", views.nobody),
    path("fragment", views.fragment),
    path("csp", views.csp),
    path("gzip", views.gzipped),
    path("stream", views.stream),
    path("echo", views.echo),
    path("post", views.post),
]
