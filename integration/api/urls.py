"""REST API v1. Each area registers its routes here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from integration.api.catalogue import SyncRunViewSet, TitleViewSet

router = DefaultRouter()
router.register("titles", TitleViewSet, basename="title")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")

urlpatterns = [
    path("", include(router.urls)),
]
