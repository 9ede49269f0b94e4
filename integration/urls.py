"""Staff screens of the integration app. Each area adds its own include here."""

from django.urls import include, path

from integration.views import imports, operations, sync, titles

operations_patterns = ([path("", operations.index, name="index")], "operations")
titles_patterns = (
    [
        path("", titles.title_list_view, name="list"),
        path("<int:pk>/", titles.title_detail_view, name="detail"),
    ],
    "titles",
)
sync_patterns = (
    [path("", sync.sync_index, name="index"), path("start/", sync.sync_start, name="start")],
    "sync",
)
imports_patterns = (
    [
        path("onix/", imports.onix_upload, name="onix"),
        path("royalties/", imports.royalty_upload, name="royalties"),
        path("royalties/<int:pk>/errors.csv", imports.royalty_errors, name="royalty_errors"),
    ],
    "imports",
)

urlpatterns = [
    path("operations/", include(operations_patterns)),
    path("titles/", include(titles_patterns)),
    path("sync/", include(sync_patterns)),
    path("imports/", include(imports_patterns)),
]
