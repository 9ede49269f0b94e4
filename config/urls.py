from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so no inline script runs;
    # Swagger UI styles its elements at run time, which this page alone allows (styles only).
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # Redoc writes <style> elements and starts its search worker from a blob at run time; only
    # this page allows them.
    path(
        "api/redoc/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
    path("api/v1/", include("integration.api.urls")),
    path("", include("accounts.urls")),
    path("", include("integration.urls")),
]
# The built-in emulations of Consonance and Exstream exist only when SANDBOX_ENABLED (make run,
# tests); in production their URLs are not mounted at all (404).
if settings.SANDBOX_ENABLED:
    urlpatterns[-2:-2] = [
        path("sandbox/exstream/", include("sandbox.exstream.urls")),
        path("sandbox/", include("sandbox.urls")),
    ]

handler403 = "config.views.error_403"
handler404 = "config.views.error_404"
handler500 = "config.views.error_500"
