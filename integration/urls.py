"""Staff screens of the integration app. Each area adds its own include here."""

from django.urls import include, path

from integration.views import operations

operations_patterns = ([path("", operations.index, name="index")], "operations")

urlpatterns = [
    path("operations/", include(operations_patterns)),
]
