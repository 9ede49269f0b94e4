"""REST API v1. Each area registers its routes here."""

from typing import Any

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.ids import ID_REGEX
from integration.api import communications as communications_api
from integration.api import exstream
from integration.api import exstream_catalogue as exstream_catalogue_api
from integration.api import launch as launch_api
from integration.api import partner_notices as partner_notices_api
from integration.api import setup as setup_api
from integration.api import statement_setup as statement_setup_api
from integration.api import statements as statements_api
from integration.api import status as status_api
from integration.api.catalogue import SyncRunViewSet, TitleViewSet


class Router(DefaultRouter):
    """A viewset's ``{pk}`` matches ID_REGEX unless it says otherwise: a word or a huge number
    in a path is a 404, never a ValueError or OverflowError."""

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        if getattr(viewset, "lookup_value_regex", None) is None:
            viewset.lookup_value_regex = ID_REGEX
        return super().get_lookup_regex(viewset, lookup_prefix)


router = Router()
router.register(
    "communication-types", setup_api.CommunicationTypeViewSet, basename="communication-type"
)
router.register("templates", setup_api.TemplateViewSet, basename="template")
router.register("mappings", setup_api.MappingViewSet, basename="mapping")
router.register("audiences", setup_api.AudienceViewSet, basename="audience")
router.register("compliance-rules", setup_api.ComplianceRuleViewSet, basename="compliance-rule")
router.register("triggers", setup_api.TriggerRuleViewSet, basename="trigger")
router.register(
    "statement-rules", statement_setup_api.StatementRuleViewSet, basename="statement-rule"
)
router.register("payee-profiles", statement_setup_api.PayeeProfileViewSet, basename="payee-profile")
router.register("setup-transfer", setup_api.SetupTransferViewSet, basename="setup-transfer")
router.register(
    "contributor-actions", status_api.ContributorActionViewSet, basename="contributor-action"
)
router.register("writebacks", status_api.WritebackRecordViewSet, basename="writeback")
router.register(
    "customer-service-outcomes",
    status_api.CustomerServiceOutcomeViewSet,
    basename="customer-service-outcome",
)
router.register("communications", communications_api.CommunicationViewSet, basename="communication")
router.register("titles", TitleViewSet, basename="title")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register(
    "exstream-communications",
    exstream_catalogue_api.ExstreamCommunicationViewSet,
    basename="exstream-communication",
)

urlpatterns = [
    path("titles/<id:pk>/timeline/", status_api.title_timeline_api, name="title-timeline"),
    path("titles/<id:pk>/launch/", launch_api.title_launch, name="title-launch"),
    path(
        "royalty-imports/<id:pk>/statements/",
        statements_api.royalty_import_statements,
        name="royalty-import-statements",
    ),
    path("message-status/", status_api.message_status_entry, name="message-status"),
    path(
        "communications/partner-notices/",
        partner_notices_api.partner_notices,
        name="partner-notices",
    ),
    path("webhooks/exstream/", exstream.exstream_webhook, name="webhook-exstream"),
    path("", include(router.urls)),
]
