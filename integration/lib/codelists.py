"""Readable names for the ONIX code lists staff see on title pages (EDItEUR lists 17, 28, 58,
59, 64, 65, 150 and 153). Unknown codes are shown as they are; the code itself always stays
visible."""

from __future__ import annotations

PUBLISHING_STATUS = {  # ONIX list 64
    "00": "Unspecified",
    "01": "Cancelled",
    "02": "Forthcoming",
    "03": "Postponed indefinitely",
    "04": "Active",
    "05": "No longer our product",
    "06": "Out of stock indefinitely",
    "07": "Out of print",
    "08": "Inactive",
    "09": "Unknown",
    "10": "Remaindered",
    "11": "Withdrawn from sale",
    "12": "Recalled",
    "13": "Active, but not sold separately",
    "15": "Recalled",
    "16": "Temporarily withdrawn from sale",
    "17": "Permanently withdrawn from sale",
}

AVAILABILITY = {  # ONIX list 65
    "01": "Cancelled",
    "09": "Not yet available, postponed indefinitely",
    "10": "Not yet available",
    "11": "Awaiting stock",
    "12": "Not yet available, will be print on demand",
    "20": "Available",
    "21": "In stock",
    "22": "To order",
    "23": "Print on demand",
    "30": "Temporarily unavailable",
    "31": "Out of stock",
    "32": "Reprinting",
    "33": "Awaiting reissue",
    "34": "Temporarily withdrawn from sale",
    "40": "Not available",
    "41": "Not available, replaced by new product",
    "42": "Not available, other format available",
    "43": "No longer supplied by us",
    "44": "Apply direct",
    "45": "Not sold separately",
    "46": "Withdrawn from sale",
    "47": "Remaindered",
    "48": "Not available, replaced by print on demand",
    "49": "Recalled",
    "51": "Not available, publisher indicates out of print",
    "99": "Uncertain, contact supplier",
}

PRICE_TYPE = {  # ONIX list 58 (the common ones)
    "01": "RRP excluding tax",
    "02": "RRP including tax",
    "03": "Fixed retail price excluding tax",
    "04": "Fixed retail price including tax",
    "05": "Supplier's net price excluding tax",
    "07": "Supplier's net price including tax",
    "21": "Pre-publication RRP excluding tax",
    "22": "Pre-publication RRP including tax",
}

PRODUCT_FORM = {  # ONIX list 150 (the common ones)
    "AA": "Audio",
    "AC": "Audio CD",
    "AJ": "Downloadable audio file",
    "BA": "Book",
    "BB": "Hardback",
    "BC": "Paperback",
    "BD": "Loose-leaf",
    "BE": "Spiral bound",
    "BH": "Board book",
    "DG": "E-book",
    "EA": "Digital",
    "EB": "Digital download and online",
    "ED": "Digital download",
}

AUDIENCE = {  # ONIX list 28
    "01": "General / trade",
    "02": "Children / juvenile",
    "03": "Young adult",
    "04": "Primary and secondary education",
    "05": "College / higher education",
    "06": "Professional and scholarly",
    "07": "English language teaching",
    "08": "Adult education",
    "09": "Second language teaching",
}

PRICE_QUALIFIER = {  # ONIX list 59
    "00": "Unqualified price",
    "01": "Member / subscriber price",
    "02": "Export price",
    "03": "Reduced price when bought as part of a set",
    "04": "Voucher price",
    "05": "Consumer price",
    "06": "Corporate price",
    "07": "Reseller price",
    "08": "Institution price",
    "10": "Phone order price",
    "11": "Online order price",
}

CONTRIBUTOR_ROLE = {  # ONIX list 17 (the common ones)
    "A01": "By (author)",
    "A02": "With",
    "A06": "Composer",
    "A07": "Artist",
    "A08": "Photographer",
    "A09": "Created by",
    "A12": "Illustrated by",
    "A13": "Photographs by",
    "A15": "Preface by",
    "A19": "Afterword by",
    "A23": "Foreword by",
    "A24": "Introduction by",
    "B01": "Edited by",
    "B06": "Translated by",
    "B09": "Series edited by",
    "E07": "Read by",
}

TEXT_TYPE = {  # ONIX list 153 (the common ones)
    "01": "Main description",
    "02": "Short description",
    "03": "Long description",
    "04": "Table of contents",
    "06": "Review quote",
    "10": "Promotional headline",
}

LISTS: dict[str, dict[str, str]] = {
    "17": CONTRIBUTOR_ROLE,
    "28": AUDIENCE,
    "59": PRICE_QUALIFIER,
    "153": TEXT_TYPE,
    "64": PUBLISHING_STATUS,
    "65": AVAILABILITY,
    "58": PRICE_TYPE,
    "150": PRODUCT_FORM,
}


def name(code: str | None, codelist: str) -> str:
    """Just the name ('BB' in list 150 -> 'Hardback'); the code itself when unknown."""
    code = (code or "").strip()
    return LISTS.get(codelist, {}).get(code, code)


def label(code: str | None, codelist: str) -> str:
    """'02' in list 64 -> 'Forthcoming (02)'; an unknown or empty code comes back unchanged."""
    code = (code or "").strip()
    named = LISTS.get(codelist, {}).get(code)
    return f"{named} ({code})" if named else code
