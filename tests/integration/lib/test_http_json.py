"""``http.json_body``: a JSON answer decoded with orjson, and every body the standard library
accepted still accepted (the connectors' readable "not JSON" errors rely on ``ValueError``)."""

from __future__ import annotations

import math

import pytest
import requests

from integration.lib.http import json_body


def _response(body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


def test_a_json_page_decodes_as_the_standard_library_decodes_it():
    body = '{"data": {"works": [{"id": 1, "title": "Café", "amount": 8.99, "n": null}]}}'
    assert json_body(_response(body.encode())) == {
        "data": {"works": [{"id": 1, "title": "Café", "amount": 8.99, "n": None}]}
    }


def test_bodies_orjson_refuses_are_decoded_as_before():
    # NaN (which Python's json reads) and a Latin-1 body that says so.
    assert math.isnan(json_body(_response(b'{"amount": NaN}'))["amount"])
    latin = _response('{"title": "Café"}'.encode("latin-1"), "application/json; charset=latin-1")
    assert json_body(latin) == {"title": "Café"}


def test_a_body_that_is_not_json_is_a_value_error():
    with pytest.raises(ValueError):
        json_body(_response(b"<html>Bad gateway</html>", "text/html"))
