from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
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
