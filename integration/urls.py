"""Staff screens of the integration app. Each area adds its own include here."""

from django.urls import include, path

from integration.views import operations

operations_patterns = (
    [
        path("", operations.index, name="index"),
        path("outbox/", operations.outbox_list, name="outbox"),
        path("outbox/<int:pk>/replay/", operations.outbox_replay_view, name="outbox_replay"),
        path("outbox/<int:pk>/cancel/", operations.outbox_cancel_view, name="outbox_cancel"),
    ],
    "operations",
)

urlpatterns = [
    path("operations/", include(operations_patterns)),
]
