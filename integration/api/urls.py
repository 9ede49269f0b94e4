"""REST API v1. Each area registers its routes here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from integration.api import exstream

router = DefaultRouter()

urlpatterns = [
    path("webhooks/exstream/", exstream.exstream_webhook, name="webhook-exstream"),
    path("", include(router.urls)),
]
