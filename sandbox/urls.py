"""The built-in emulations of Consonance and Exstream, served over real HTTP under /sandbox/."""

from django.urls import include, path

urlpatterns: list = [
    path("exstream/", include("sandbox.exstream.urls")),
]
