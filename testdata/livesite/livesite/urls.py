from django.urls import include, path

from . import views

# A namespaced include, as the admin's and any app_name's: a resolver of its
# own, whose reverse tables its parent's don't build.
pages = ([path("version", views.version, name="version")], "pages")

urlpatterns = [
    path("", views.page),
    path("form", views.form),
    path("version", views.version),
    path("nobody", views.nobody),
    path("fragment", views.fragment),
    path("warm", views.warm),
    path("csp", views.csp),
    path("gzip", views.gzipped),
    path("stream", views.stream),
    path("echo", views.echo),
    path("post", views.post),
    path("pages/", include(pages)),
]
