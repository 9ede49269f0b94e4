"""ONIX 3.0 imports: every real file in place, and hostile or broken files."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from accounts.models import Imprint
from integration.catalogue.onix_import import onix_import
from integration.models import ChangeEvent, Contribution, Price, Product, SyncRun, Work

# Counts documented in /work/shared/data/onix/README.md.
DOCUMENTED = {
    "snowbooks.xml": {"products": 8, "contributors": 33, "prices": 44},
    "Sample_ONIX_3.0.xml": {"products": 105, "contributors": 176, "prices": 216},
    "9782752906700.xml": {"products": 4, "contributors": 1, "prices": 96},
    "full_sample.xml": {"products": 1, "contributors": 4, "prices": 3},
}


def _expected_rows(path: Path) -> tuple[int, int, int]:
    """Rows the mirror should hold, computed independently with ElementTree: one product per
    distinct RecordReference (a later duplicate replaces the earlier one)."""
    records: dict[str, tuple[int, int]] = {}
    for el in ET.parse(path).getroot():
        if el.tag.rsplit("}", 1)[-1] != "Product":
            continue
        ref = next(c.text for c in el if c.tag.endswith("RecordReference"))
        contributors = sum(1 for n in el.iter() if n.tag.endswith("}Contributor"))
        prices = sum(1 for n in el.iter() if n.tag.endswith("}Price"))
        records[ref or ""] = (contributors, prices)
    return (
        len(records),
        sum(c for c, _ in records.values()),
        sum(p for _, p in records.values()),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_real_onix_file_imports_with_the_documented_counts(onix_dir, name):
    path = onix_dir / name
    with path.open("rb") as stream:
        run = onix_import(stream=stream, filename=name)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    documented = DOCUMENTED[name]
    assert (
        f"{documented['products']} products, {documented['contributors']} contributors, "
        f"{documented['prices']} prices read" in run.message
    )
    assert run.failed == 0
    products, contributors, prices = _expected_rows(path)
    assert Product.objects.count() == products
    assert Work.objects.count() == products
    assert Contribution.objects.count() == contributors
    assert Price.objects.count() == prices
    assert all(w.consonance_id < 0 and w.source == "onix" for w in Work.objects.all())
    assert ChangeEvent.objects.filter(kind="created").count() == products


@pytest.mark.django_db
def test_snowbooks_maps_isbn_imprint_prices_and_contributors(onix_dir):
    with (onix_dir / "snowbooks.xml").open("rb") as stream:
        onix_import(stream=stream, filename="snowbooks.xml")
    assert Imprint.objects.filter(name="Snowbooks").count() == 1
    product = Product.objects.get(isbn13="9781909679641")
    assert product.work.title == "Curse of the Assassin"
    assert product.product_form == "BC"
    assert product.prices.filter(currency="GBP").exists()
    assert Contribution.objects.filter(role="A01").count() == 7


@pytest.mark.django_db
def test_reimport_changes_nothing_and_a_change_gives_events(onix_dir, tmp_path):
    source = (onix_dir / "full_sample.xml").read_bytes()
    onix_import(stream=io.BytesIO(source), filename="full_sample.xml")
    events = ChangeEvent.objects.count()
    again = onix_import(stream=io.BytesIO(source), filename="full_sample.xml")
    assert again.unchanged == 1 and ChangeEvent.objects.count() == events
    product = Product.objects.get()
    old_amount = product.prices.order_by("currency", "price_type").first()
    assert old_amount is not None
    changed = source.replace(
        f"<PriceAmount>{old_amount.amount}</PriceAmount>".encode(),
        b"<PriceAmount>99.99</PriceAmount>",
        1,
    )
    assert changed != source
    run = onix_import(stream=io.BytesIO(changed), filename="full_sample.xml")
    assert run.updated == 1
    event = ChangeEvent.objects.filter(kind="price").get()
    assert event.new_value == "99.99" and event.product == product


@pytest.mark.django_db
def test_an_imprint_chosen_on_upload_applies_to_every_record(onix_dir, imprint_a):
    with (onix_dir / "9782752906700.xml").open("rb") as stream:
        run = onix_import(stream=stream, filename="x.xml", imprint=imprint_a)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Work.objects.filter(imprint=imprint_a).count() == 4


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ONIXMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0">
<Product><RecordReference>&xxe;</RecordReference></Product></ONIXMessage>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ONIXMessage release="3.0"><Product><RecordReference>&lol2;</RecordReference></Product>
</ONIXMessage>"""
WRONG_ROOT = b"""<?xml version="1.0"?><rss><channel><title>Not ONIX</title></channel></rss>"""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not xml at all", "not well-formed XML"),
        (WRONG_ROOT, "not <ONIXMessage>"),
        (XXE, "declares a DOCTYPE"),
        (LAUGHS, "declares a DOCTYPE"),
        (b"", "empty"),
    ],
    ids=["not-xml", "wrong-root", "xxe", "entity-expansion", "empty"],
)
def test_bad_onix_files_give_clear_errors_and_import_nothing(content, expected):
    run = onix_import(stream=io.BytesIO(content), filename="bad.xml")
    assert run.status == SyncRun.Status.FAILED
    assert expected in run.message and "nothing was imported" in run.message
    assert Work.objects.count() == 0 and ChangeEvent.objects.count() == 0


@pytest.mark.django_db
def test_truncated_file_imports_nothing(onix_dir):
    content = (onix_dir / "snowbooks.xml").read_bytes()
    run = onix_import(stream=io.BytesIO(content[: len(content) * 2 // 3]), filename="cut.xml")
    assert run.status == SyncRun.Status.FAILED
    assert "truncated" in run.message
    # Products before the cut were parsed, but the whole file is one transaction.
    assert Work.objects.count() == 0 and Product.objects.count() == 0
    assert Imprint.objects.filter(name="Snowbooks").count() == 0


# --- issue 12: no import crosses an imprint; whole or nothing; any DTD refused ---------------


def _onix(*products: tuple[str, str, str]) -> io.BytesIO:
    """An ONIX message with (RecordReference, ISBN, title) products."""
    body = "".join(
        f"<Product><RecordReference>{ref}</RecordReference><NotificationType>03</NotificationType>"
        f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue>"
        "</ProductIdentifier><DescriptiveDetail><ProductForm>BC</ProductForm><TitleDetail>"
        f"<TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
        f"<TitleText>{title}</TitleText></TitleElement></TitleDetail></DescriptiveDetail>"
        "</Product>"
        for ref, isbn, title in products
    )
    return io.BytesIO(
        (
            '<?xml version="1.0"?><ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" '
            f'release="3.0"><Header><Sender><SenderName>x</SenderName></Sender></Header>{body}'
            "</ONIXMessage>"
        ).encode()
    )


@pytest.fixture
def harbour_title(imprint_a):
    run = onix_import(
        stream=_onix(("HL-0001", "9781908435500", "Harbour Lights' own title")),
        filename="hl.xml",
        imprint=imprint_a,
    )
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    return Work.objects.get()


def _unchanged(work: Work) -> None:
    fresh = Work.objects.get(pk=work.pk)
    assert (fresh.imprint_id, fresh.title, fresh.content_hash) == (
        work.imprint_id,
        work.title,
        work.content_hash,
    )
    assert set(fresh.products.values_list("isbn13", flat=True)) == {"9781908435500"}


@pytest.mark.django_db
def test_onix_record_reference_of_another_imprint_is_refused(harbour_title, imprint_b):
    events = ChangeEvent.objects.count()
    run = onix_import(
        stream=_onix(("HL-0001", "9780000000017", "Taken over")),
        filename="northwind.xml",
        imprint=imprint_b,
    )
    assert run.status == SyncRun.Status.FAILED
    assert "nothing was imported" in run.message
    assert run.errors[0]["id"] == "HL-0001"
    assert "RecordReference HL-0001 is a title of another imprint" in run.errors[0]["error"]
    _unchanged(harbour_title)
    assert ChangeEvent.objects.count() == events
    assert not Work.objects.filter(imprint=imprint_b).exists()


@pytest.mark.django_db
def test_onix_isbn_of_another_imprint_is_refused(harbour_title, imprint_b):
    run = onix_import(
        stream=_onix(("NW-0001", "978-1-908435-50-0", "Same ISBN, other record")),
        filename="northwind.xml",
        imprint=imprint_b,
    )
    assert run.status == SyncRun.Status.FAILED
    assert "ISBN 9781908435500 belongs to a title of another imprint" in run.errors[0]["error"]
    _unchanged(harbour_title)
    assert Product.objects.filter(isbn13="9781908435500").count() == 1


@pytest.mark.django_db
def test_onix_superuser_import_by_imprint_name_cannot_move_a_title(harbour_title, imprint_b):
    stream = _onix(("HL-0001", "9781908435500", "Renamed"))
    text = stream.getvalue().replace(
        b"</DescriptiveDetail>",
        b"</DescriptiveDetail><PublishingDetail><Imprint><ImprintName>Northwind Press"
        b"</ImprintName></Imprint></PublishingDetail>",
    )
    run = onix_import(stream=io.BytesIO(text), filename="x.xml")
    assert run.status == SyncRun.Status.FAILED
    _unchanged(harbour_title)


@pytest.mark.django_db
def test_the_same_imprint_may_reimport_its_titles(harbour_title, imprint_a):
    run = onix_import(
        stream=_onix(("HL-0001", "9781908435500", "New title")),
        filename="hl.xml",
        imprint=imprint_a,
    )
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert Work.objects.get(pk=harbour_title.pk).title == "New title"


@pytest.mark.django_db
def test_onix_import_is_whole_or_nothing_with_an_error_report(imprint_a):
    stream = _onix(("OK-1", "9780000000017", "Fine"), ("BAD-1", "9780000000024", "Bad"))
    text = stream.getvalue().replace(
        b"<RecordReference>BAD-1</RecordReference>",
        b"<RecordReference>BAD-1</RecordReference><PublishingDetail><PublishingDate>"
        b"<PublishingDateRole>01</PublishingDateRole><Date>20261301</Date></PublishingDate>"
        b"</PublishingDetail>",
    )
    run = onix_import(stream=io.BytesIO(text), filename="mixed.xml", imprint=imprint_a)
    assert run.status == SyncRun.Status.FAILED
    assert (run.failed, run.created) == (1, 0)
    assert run.errors[0]["id"] == "BAD-1"
    assert "nothing was imported" in run.message
    assert Work.objects.count() == 0 and ChangeEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE ONIXMessage SYSTEM "http://www.editeur.org/onix/3.0/onix.dtd">',
        b'<!DOCTYPE ONIXMessage [<!ENTITY x "y">]>',
    ],
    ids=["external", "internal-subset"],
)
def test_a_dtd_after_a_long_comment_is_refused_by_the_parser(doctype):
    content = _onix(("OK-1", "9780000000017", "Fine")).getvalue()
    content = content.replace(
        b"<ONIXMessage", b"<!--" + b"x" * 100_000 + b"-->" + doctype + b"<ONIXMessage", 1
    )
    run = onix_import(stream=io.BytesIO(content), filename="dtd.xml")
    assert run.status == SyncRun.Status.FAILED
    assert "declares a DOCTYPE" in run.message
    assert Work.objects.count() == 0
