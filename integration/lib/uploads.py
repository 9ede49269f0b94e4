"""Upload limits, in one place.

* ``SizeLimitedUploadHandler`` (first in ``FILE_UPLOAD_HANDLERS``) refuses a request whose files
  add up to more than ``FILE_UPLOAD_MAX_BYTES`` while it streams in — before anything is read
  into memory or kept on disk — with a 400 (Django's ``RequestDataTooBig``).
* ``validate_upload`` is what each upload form calls: the per-kind size limit and file name
  extension, with a message a person can act on. Content checks (UTF-8, header row, XML without
  entities, XLSX rows) stay with the parsers, which refuse a bad file whole.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadhandler import FileUploadHandler

MB = 1024 * 1024
CSV_MAX_BYTES = 5 * MB  # audience lists, message status, customer-service outcomes
SETUP_JSON_MAX_BYTES = 5 * MB
IMPORT_MAX_BYTES = 50 * MB  # ONIX and royalty files


class SizeLimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of every file of the request and stops at the hard limit."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        limit = int(settings.FILE_UPLOAD_MAX_BYTES)
        if self.received > limit:
            raise RequestDataTooBig(
                f"The upload is larger than {limit // MB} MB; split the file and try again."
            )
        return raw_data  # the next handler stores it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler returns the file


def validate_upload(upload: Any, *, max_bytes: int, extensions: tuple[str, ...]) -> Any:
    """``upload`` if its size and name fit (``extensions=()``: any name; the parser checks the
    content); a ValidationError saying what to do otherwise."""
    name = (getattr(upload, "name", "") or "").lower()
    if extensions and not name.endswith(extensions):
        raise ValidationError(f"Upload a {' or '.join(extensions)} file.")
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > max_bytes:
        raise ValidationError(
            f"The file is larger than {max_bytes // MB} MB; split it and upload the parts."
        )
    return upload
