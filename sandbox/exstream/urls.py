from django.urls import path

from sandbox.exstream import control, generation, runtime, views

R = "orchestration/api/v1/runtime/<str:domain>/"

app_name = "sandbox_exstream"
urlpatterns = [
    path("tenants/<str:tenant>/oauth2/token", views.token_cloud, name="token"),
    path("otdsws/otdstenant/<str:tenant>/oauth2/token", views.token_otds, name="token_otds"),
    path("orchestration/api/v1/version", views.version, name="version"),
    path("design/api/v1/domains", views.domains),
    path("design/api/v1/resources/<str:domain>", views.resources),
    path("design/api/v1/resources/<str:domain>/<str:resource_id>/content", views.resource_content),
    path("design/api/v1/links/<str:domain>", views.links),
    path("design/api/v1/manifests/<str:domain>/communication-set/<str:set_id>", views.manifest),
    path("orchestration/api/v1/inputs/ondemand/<str:domain>/generate", generation.generate),
    path("orchestration/api/v1/inputs/batch/<str:domain>/<str:channel>", generation.batch),
    path(R + "jobs", runtime.jobs),
    path(R + "jobs/<str:job_id>", runtime.job_detail),
    path(R + "jobs/<str:job_id>/stop", runtime.job_stop),
    path(R + "jobs/<str:job_id>/reprocessing", runtime.job_reprocess),
    path(R + "flow-instances", runtime.flow_instances),
    path(R + "flow-instances/<str:flow_instance_id>", runtime.flow_instance_detail),
    path(R + "flow-instances/<str:flow_instance_id>/input", runtime.flow_instance_input),
    path(R + "flow-steps", runtime.flow_steps),
    path(R + "flow-steps/<str:step_id>/release", runtime.step_release),
    path(R + "flow-steps/<str:step_id>/delivery-file", runtime.step_delivery_file),
    path(
        "ei/api/v1/eventmetrics/email-event/<str:tenant>/<str:domain>/content",
        runtime.email_events,
    ),
    path("control/", control.control, name="control"),
]
