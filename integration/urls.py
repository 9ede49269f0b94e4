"""Staff screens of the integration app. Each area adds its own include here."""

from django.urls import include, path

from integration.views import exstream, operations

operations_patterns = ([path("", operations.index, name="index")], "operations")

exstream_patterns = (
    [
        path("communications/", exstream.communications, name="communications"),
        path("communications/sync/", exstream.sync, name="sync"),
        path("previews/<int:pk>/", exstream.preview_output, name="preview_output"),
        path("previews/<int:pk>/raw/", exstream.preview_output_raw, name="preview_output_raw"),
        path("jobs/", exstream.jobs, name="jobs"),
        path("jobs/<int:pk>/<str:action>/", exstream.job_action, name="job_action"),
    ],
    "exstream",
)

urlpatterns = [
    path("exstream/", include(exstream_patterns)),
    path("operations/", include(operations_patterns)),
]
