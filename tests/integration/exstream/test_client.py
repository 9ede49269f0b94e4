"""The client against the sandbox over real HTTP: tokens, XSRF, retries, error envelopes."""

from __future__ import annotations

import pytest

from integration.connectors.exstream.base import token_form
from integration.connectors.exstream.client import ExstreamClient
from integration.lib.http import ExternalServiceError
from sandbox.exstream.catalogue import communication_id_for
from sandbox.models import ExstreamSandboxToken

pytestmark = pytest.mark.django_db(transaction=True)

RIGHTS = "Rights confirmation letter"


def test_token_form_is_chosen_by_url_shape():
    assert token_form("https://na.api.opentext.com/tenants/t1/oauth2/token") == "json"
    assert token_form("https://otds.example/otdsws/otdstenant/t1/oauth2/token") == "form"
    assert token_form("https://ot2.example/otdstenant/t1/oauth2/token") == "form"


def test_cloud_json_token_is_cached_across_calls_and_clients(make_client):
    client = make_client()
    client.list_domains()
    client.list_domains()
    make_client().list_domains()  # another process/client shares the Django cache
    assert client.tokens_fetched == 1
    assert ExstreamSandboxToken.objects.count() == 1


def test_self_hosted_form_encoded_token(make_client, settings):
    url = f"{settings.SANDBOX_BASE_URL}/sandbox/exstream/otdsws/otdstenant/colophon/oauth2/token"
    client = make_client(token_endpoint=url)
    domains = client.list_domains()
    assert {d.id for d in domains} == {"preview", "production"}
    assert client.tokens_fetched == 1


def test_token_is_refreshed_at_80_percent_of_its_lifetime(make_client, switches):
    switches.token_ttl_seconds = 100
    switches.save()
    now = [1_000_000.0]
    client = make_client(clock=lambda: now[0])
    client.list_domains()
    now[0] += 79
    client.list_domains()
    assert client.tokens_fetched == 1
    now[0] += 2  # 81 s: past 80% of 100 s
    client.list_domains()
    assert client.tokens_fetched == 2


@pytest.mark.parametrize("as_500", [False, True])
def test_token_expiring_mid_run_is_refreshed_once_transparently(
    make_client, switches, sleeps, as_500
):
    client = make_client()
    client.list_domains()
    # Exstream's clock moves past the token's expiry; our cache still believes in it.
    switches.clock_offset_seconds = 3600
    switches.expired_token_as_500 = as_500
    switches.save()
    assert len(client.list_domains()) == 2
    assert client.tokens_fetched == 2
    # Reference §10: refresh and retry once. The expired token is not first retried with
    # back-off as if the server were busy (a 500 is otherwise retryable).
    assert sleeps == []


def test_wrong_client_secret_is_a_readable_non_retryable_error(make_client):
    client = make_client(client_secret="not-the-secret")
    with pytest.raises(ExternalServiceError) as info:
        client.list_domains()
    assert info.value.status == 401
    assert info.value.retryable is False
    assert "invalid_client" in info.value.message


def test_xsrf_is_read_once_per_token_and_sent_with_batches(make_client):
    from integration.models import ExstreamCommunication

    client = make_client()
    comm = ExstreamCommunication(
        domain="production",
        communication_id=communication_id_for(RIGHTS),
        prod_dsn="RightsConfirmationLetterDriver",
    )
    rec = {
        "customer.customerNumber": "m1",
        "recipientName": "A",
        "imprintName": "H",
        "workTitle": "T",
        "territories": "World",
        "rightsGranted": "Audio",
        "confirmByDate": "2026-12-01",
    }
    first = client.submit_batch(external_id="x-1", communication=comm, records=[rec])
    xsrf = client._xsrf
    second = client.submit_batch(external_id="x-2", communication=comm, records=[rec])
    assert client._xsrf == xsrf and xsrf is not None
    assert first.job_id != second.job_id


def test_batch_without_xsrf_is_refused(make_client):
    client = make_client()
    with pytest.raises(ExternalServiceError) as info:
        client.call(
            "POST",
            "/orchestration/api/v1/inputs/batch/production/colophon-batch",
            json={"records": []},
            retries=0,
            xsrf=False,
        )
    assert info.value.status == 403
    assert "XSRF" in info.value.message


def test_engine_error_envelope_becomes_a_readable_message(make_client):
    with pytest.raises(ExternalServiceError) as info:
        make_client().generate(
            domain="preview", communication_id="no-such-id", driver_data_source="X", driver_data={}
        )
    assert info.value.status == 404
    assert "Exstream engine error: Communication 'no-such-id' is not approved" in info.value.message
    assert info.value.details[0]["statusCode"] == "404"


def test_spring_envelope_after_a_5xx_burst_outlasting_retries(make_client, switches, sleeps):
    switches.fail_next_5xx = 10
    switches.save()
    with pytest.raises(ExternalServiceError) as info:
        make_client(retries=2).list_domains()
    assert info.value.status == 503
    assert info.value.retryable is True
    assert "Exstream said: The orchestration service is busy." in info.value.message
    assert len(sleeps) == 2


def test_short_5xx_burst_is_retried_through(make_client, switches, sleeps):
    switches.fail_next_5xx = 2
    switches.save()
    assert len(make_client().list_domains()) == 2
    assert len(sleeps) == 2


def test_429_honours_retry_after(make_client, switches, sleeps):
    switches.rate_limit_next = 1
    switches.retry_after_seconds = 7
    switches.save()
    assert len(make_client().list_domains()) == 2
    assert sleeps == [7.0]


def test_422_names_each_missing_driver_field(make_client):
    with pytest.raises(ExternalServiceError) as info:
        make_client().generate(
            domain="preview",
            communication_id=communication_id_for(RIGHTS),
            driver_data_source="RightsConfirmationLetterDriver",
            driver_data={"customer.customerNumber": "m1", "recipientName": "Ada"},
        )
    exc = info.value
    assert exc.status == 422 and exc.retryable is False
    fields = [d["field"] for d in exc.details]
    assert fields == ["imprintName", "workTitle", "territories", "rightsGranted", "confirmByDate"]
    assert "missing required field(s): imprintName, workTitle" in exc.message


def test_unconfigured_credentials_for_a_real_exstream(settings):
    settings.EXSTREAM_URL = "https://exstream.example"
    settings.EXSTREAM_CLIENT_ID = ""
    with pytest.raises(ExternalServiceError, match="EXSTREAM_CLIENT_ID"):
        ExstreamClient().access_token()


def test_stale_xsrf_token_is_read_again_once(make_client):
    from integration.models import ExstreamCommunication

    client = make_client()
    comm = ExstreamCommunication(
        domain="production",
        communication_id=communication_id_for(RIGHTS),
        prod_dsn="RightsConfirmationLetterDriver",
    )
    client._xsrf = (client.access_token(), "stale-value")
    rec = {
        "customer.customerNumber": "m1",
        "recipientName": "A",
        "imprintName": "H",
        "workTitle": "T",
        "territories": "World",
        "rightsGranted": "Audio",
        "confirmByDate": "2026-12-01",
    }
    assert client.submit_batch(external_id="x-3", communication=comm, records=[rec]).job_id
    assert client._xsrf[1] != "stale-value"
