"""The built-in emulations of Consonance and Exstream, served over real HTTP under /sandbox/."""

from django.urls import path

from sandbox import views
from sandbox.consonance import api as consonance_api

app_name = "sandbox"

urlpatterns: list = [
    path("", views.control, name="control"),
    path("consonance/covers/<int:work_id>.svg", consonance_api.cover_view, name="consonance-cover"),
    path("consonance/graphql", consonance_api.graphql_view, name="consonance-graphql"),
    path(
        "consonance/api/v4/products.json",
        consonance_api.rest_products_view,
        name="consonance-rest-products",
    ),
]
