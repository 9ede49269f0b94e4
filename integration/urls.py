"""Staff screens of the integration app. Each area adds its own include here."""

from django.urls import include, path

from integration.views import communications as communication_views
from integration.views import (
    exstream,
    imports,
    launch,
    operations,
    partner_notices,
    setup_audiences,
    setup_templates,
    statement_setup,
    statements,
    sync,
    titles,
)
from integration.views import setup as setup_views
from integration.views import status as status_views

operations_patterns = (
    [
        path("", operations.index, name="index"),
        path("outbox/", operations.outbox_list, name="outbox"),
        path("outbox/<int:pk>/replay/", operations.outbox_replay_view, name="outbox_replay"),
        path("outbox/<int:pk>/cancel/", operations.outbox_cancel_view, name="outbox_cancel"),
    ],
    "operations",
)

setup_patterns = (
    [
        path("", setup_views.index, name="index"),
        path("types/", setup_views.types, name="types"),
        path(
            "types/<int:pk>/auto-approval/",
            setup_views.type_auto_approval,
            name="type_auto_approval",
        ),
        path("resolve/", setup_views.resolve, name="resolve"),
        path("transfer/", setup_views.transfer, name="transfer"),
        path("export/<int:imprint_pk>/", setup_views.export, name="export"),
        path("templates/<int:pk>/", setup_templates.template_detail, name="template_detail"),
        path("templates/<int:pk>/try/", setup_templates.template_try, name="template_try"),
        path(
            "templates/<int:pk>/mappings/new/", setup_templates.mapping_form, name="mapping_create"
        ),
        path(
            "templates/<int:pk>/mappings/<int:mapping_pk>/",
            setup_templates.mapping_form,
            name="mapping_edit",
        ),
        path(
            "templates/<int:pk>/mappings/<int:mapping_pk>/delete/",
            setup_templates.mapping_remove,
            name="mapping_delete",
        ),
        path("audiences/<int:pk>/", setup_audiences.audience_detail, name="audience_detail"),
        path("audiences/<int:pk>/upload/", setup_audiences.audience_upload, name="audience_upload"),
        path("audiences/<int:pk>/export/", setup_audiences.audience_export, name="audience_export"),
        path("<slug:kind>/", setup_views.object_list, name="list"),
        path("<slug:kind>/new/", setup_views.object_create, name="create"),
        path("<slug:kind>/<int:pk>/edit/", setup_views.object_edit, name="edit"),
        path("<slug:kind>/<int:pk>/delete/", setup_views.object_delete, name="delete"),
    ],
    "setup",
)

timeline_patterns = (
    [
        path("titles/<int:work_id>/timeline/", status_views.title_timeline_view, name="title"),
        path(
            "titles/<int:work_id>/timeline.csv",
            status_views.title_timeline_export,
            name="export",
        ),
        path("status/unmatched/", status_views.orphans, name="orphans"),
    ],
    "timeline",
)

actions_patterns = (
    [
        path("", status_views.board, name="board"),
        path("import/", status_views.status_import, name="import"),
        path("write-back/", status_views.writeback_rules, name="writeback_rules"),
        path("<int:pk>/", status_views.action_detail, name="detail"),
        path("<int:pk>/record/", status_views.action_record, name="record"),
        path("<int:pk>/assign/", status_views.action_assign, name="assign"),
        path("<int:pk>/remind/", status_views.action_remind, name="remind"),
    ],
    "actions",
)

reports_patterns = (
    [
        path("customer-service/", status_views.customer_service, name="customer_service"),
        path(
            "customer-service.csv",
            status_views.customer_service_export,
            name="customer_service_export",
        ),
        path(
            "customer-service/import/",
            status_views.customer_service_import,
            name="customer_service_import",
        ),
    ],
    "reports",
)

communications_patterns = (
    [
        path("", communication_views.communication_list, name="list"),
        path("new/", communication_views.communication_new, name="new"),
        path("new/contracts/", communication_views.contract_options, name="contract_options"),
        path("approvals/", communication_views.approvals, name="approvals"),
        path("partner-notices/", partner_notices.partner_notices, name="partner_notices"),
        path("<int:pk>/", communication_views.communication_detail, name="detail"),
        path("<int:pk>/progress/", communication_views.communication_progress, name="progress"),
        path(
            "<int:pk>/<slug:action>/",
            communication_views.communication_action,
            name="action",
        ),
    ],
    "communications",
)

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

titles_patterns = (
    [
        path("", titles.title_list_view, name="list"),
        path("<int:pk>/", titles.title_detail_view, name="detail"),
        path("<int:pk>/launch/", launch.title_launch, name="launch"),
    ],
    "titles",
)
statement_setup_patterns = (
    [
        path("rules/", statement_setup.rule_list, name="rules"),
        path("rules/new/", statement_setup.rule_create, name="rule_create"),
        path("rules/<int:pk>/edit/", statement_setup.rule_edit, name="rule_edit"),
        path("rules/<int:pk>/delete/", statement_setup.rule_delete, name="rule_delete"),
        path("payees/", statement_setup.payee_list, name="payees"),
        path("payees/new/", statement_setup.payee_create, name="payee_create"),
        path("payees/<int:pk>/edit/", statement_setup.payee_edit, name="payee_edit"),
        path("payees/<int:pk>/delete/", statement_setup.payee_delete, name="payee_delete"),
    ],
    "statements",
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
        path(
            "royalties/<int:pk>/statements/",
            statements.royalty_statements,
            name="royalty_statements",
        ),
    ],
    "imports",
)

urlpatterns = [
    path("", include(timeline_patterns)),
    path("actions/", include(actions_patterns)),
    path("reports/", include(reports_patterns)),
    path("communications/", include(communications_patterns)),
    path("titles/", include(titles_patterns)),
    path("sync/", include(sync_patterns)),
    path("imports/", include(imports_patterns)),
    path("statements/", include(statement_setup_patterns)),
    path("exstream/", include(exstream_patterns)),
    path("operations/", include(operations_patterns)),
    path("setup/", include(setup_patterns)),
]
