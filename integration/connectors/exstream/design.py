"""The design API (DAS): domains, approved communications, links, the communication set's
manifest and the driver sample, as documented in the reference (§3, Appendix A)."""

from __future__ import annotations

from typing import Any

from integration.connectors.exstream import models as m
from integration.connectors.exstream.base import Transport, _parsed


class DesignApi(Transport):
    # --- design (DAS) -------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return dict(self.get_json("/orchestration/api/v1/version"))

    def list_domains(self) -> list[m.Domain]:
        body = self.get_json("/design/api/v1/domains")
        return _parsed(lambda: [m.Domain.parse(d) for d in m.items_of(body, "domain list")])

    def list_approved_communications(self, domain: str) -> list[m.ResourceVersion]:
        """Approved, latest exstrapplication resources (asked 100 at a time, read to the end:
        ``Transport.listed``)."""
        items = self.listed(
            f"/design/api/v1/resources/{domain}",
            "resource list",
            count=100,
            **{
                "filter.types": "exstrapplication",
                "filter.states": "APPROVED",
                "filter.latestVersion": "true",
            },
        )
        return _parsed(lambda: [m.ResourceVersion.parse(r) for r in items])

    def links(self, domain: str, subject_id: str, *, type_id: str) -> list[m.Link]:
        """Links of a subject whose object is of ``type_id``. The server is asked to filter;
        the result is filtered again on ``typeId`` (without a filter other links come back
        too, in any order)."""
        body = self.get_json(
            f"/design/api/v1/links/{domain}",
            linkSubjectId=subject_id,
            linkDepth=2,
            **{"filter.types": type_id},
        )
        links = _parsed(lambda: [m.Link.parse(item) for item in m.items_of(body, "link list")])
        return [link for link in links if link.type_id == type_id]

    def communication_set_id(self, domain: str, communication_id: str) -> str | None:
        links = self.links(domain, communication_id, type_id="exstrcommunicationset")
        return links[0].link_object_id if links else None

    def sample_file_id(self, domain: str, communication_id: str) -> str | None:
        """The id of the communication's driver sample (a linked ``samplefile`` resource)."""
        links = self.links(domain, communication_id, type_id="samplefile")
        return links[0].link_object_id if links else None

    def resource_content(self, domain: str, resource_id: str) -> bytes:
        """``GET /design/api/v1/resources/{domain}/{id}/content``: the resource as uploaded."""
        response = self.call("GET", f"/design/api/v1/resources/{domain}/{resource_id}/content")
        return bytes(response.content)

    def manifest(self, domain: str, set_id: str) -> m.Manifest:
        body = self.get_json(f"/design/api/v1/manifests/{domain}/communication-set/{set_id}")
        return _parsed(lambda: m.Manifest.parse(body))
