"""The project's URLs plus one nobody told the policy sweep about (see test_policy_sweep)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def royalty_statement(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"statement {pk}")


urlpatterns = [
    *project_urlpatterns,
    path("royalty-statements/<int:pk>/", royalty_statement, name="royalty_statement"),
]
