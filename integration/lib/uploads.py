"""Upload limits, in one place.

* ``SizeLimitedUploadHandler`` (first in ``FILE_UPLOAD_HANDLERS``) refuses a request whose files
  add up to more than ``FILE_UPLOAD_MAX_BYTES`` while it streams in — before anything is read
  into memory or kept on disk — with a 400 (Django's ``RequestDataTooBig``).
* ``validate_upload`` is what each upload form calls: the per-kind size limit and file name
  extension, with a message a person can act on. Content checks (UTF-8, header row, XML without
  entities, XLSX rows) stay with the parsers, which refuse a bad file whole.
* The work a file can cause is bounded by what it expands to, not by its size on the wire:
  ``check_xlsx_archive`` reads the zip directory of an XLSX *before* the workbook is opened and
  refuses one whose parts add up to more than ``XLSX_MAX_UNCOMPRESSED_BYTES`` or compress more
  than ``XLSX_MAX_RATIO`` to one (zip bombs); ``RowBudget`` counts every row *read* — blank
  ones too — against ``MAX_ROWS_READ``, so 3 million empty rows stop at the limit instead of
  holding a request for minutes.

Parsing still happens in the request (bounded as above); moving large imports to a background
task with progress is not done yet (docs/security.md).
"""

from __future__ import annotations

import zipfile
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadhandler import FileUploadHandler

MB = 1024 * 1024
CSV_MAX_BYTES = 5 * MB  # audience lists, message status, customer-service outcomes
SETUP_JSON_MAX_BYTES = 5 * MB
IMPORT_MAX_BYTES = 50 * MB  # ONIX and royalty files
XLSX_MAX_UNCOMPRESSED_BYTES = 200 * MB  # all parts of a workbook, as listed in its zip directory
XLSX_MAX_RATIO = 200  # uncompressed : compressed; real workbooks stay far below
MAX_ROWS_READ = 200_000  # rows read from one tabular file, blank rows included


class UploadTooLarge(ValueError):
    """The file would expand to more work than the limits allow; the message says which."""


def check_xlsx_archive(stream: IO[bytes]) -> None:
    """Refuse an XLSX whose zip directory promises too much (checked before it is opened; the
    stream is rewound). A file that is not a zip is left to the workbook reader to refuse."""
    position = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        stream.seek(position)
        return
    stream.seek(position)
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > XLSX_MAX_UNCOMPRESSED_BYTES:
        raise UploadTooLarge(
            f"The workbook expands to {total // MB} MB (limit {XLSX_MAX_UNCOMPRESSED_BYTES // MB}"
            " MB); save the data as CSV or split it."
        )
    if total > 10 * MB and total / packed > XLSX_MAX_RATIO:
        raise UploadTooLarge(
            "The workbook expands more than "
            f"{XLSX_MAX_RATIO} times (it is mostly empty cells); save the data as CSV."
        )


class RowBudget:
    """Counts rows read (blank ones too) and stops at ``limit``."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_ROWS_READ if limit is None else limit
        self.read = 0

    def take(self) -> None:
        self.read += 1
        if self.read > self.limit:
            raise UploadTooLarge(
                f"The file has more than {self.limit} rows (blank rows count too); "
                "remove empty rows or split it."
            )


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
