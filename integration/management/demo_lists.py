"""The demo's uploaded recipient lists, as CSV files in the upload format staff use
(``email,name,country,consent,channel,address``; see ``integration.setup.audiences``).

Why lists and not Consonance contacts: the documented Consonance API has neither an organisation
type nor a marketing consent on a contact (``Organisation`` carries names, addresses and trade
identifiers only), and Colophon mirrors contacts only as a title's contributors. So the trade,
library, agent and member audiences a launch uses are lists the publisher keeps and uploads,
each row with its recorded consent. Deterministic: the same rows on every run.
"""

from __future__ import annotations

_TOWNS = [
    ("Falmouth", "TR11 3AB"),
    ("Bristol", "BS1 5TR"),
    ("York", "YO1 7HH"),
    ("Norwich", "NR2 1TL"),
    ("Bath", "BA1 1LT"),
    ("Hay-on-Wye", "HR3 5AE"),
    ("Edinburgh", "EH1 1QS"),
    ("Cardiff", "CF10 1FS"),
]
_FIRST = ["Alice", "Bea", "Cal", "Dina", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jude", "Kit", "Lou"]
_LAST = ["Abbott", "Brennan", "Chen", "Dawson", "Ellis", "Farouk", "Grant", "Hale", "Iqbal"]

RETAILERS = [
    "Harbourside Books",
    "The Lantern Bookshop",
    "Quayside Booksellers",
    "Salt & Paper Books",
    "Northgate Bookshop",
    "The Orchard Bookshop",
    "Riverbank Books",
    "Gardners Books (wholesale)",
    "Bertram Trade Supply (wholesale)",
    "Peters Library & Schools Supply (wholesale)",
]
LIBRARIES = [
    "Falmouth Library",
    "Bristol Central Library",
    "York Explore Library",
    "Norfolk & Norwich Millennium Library",
    "Bath Central Library",
    "Edinburgh Central Library",
    "Cardiff Central Library",
]
AGENCIES = [
    "Copper Lane Literary Agency",
    "Winter & Marsh Associates",
    "Glasshouse Literary",
    "Northern Lights Agency",
    "Tidewater Rights Ltd",
]


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:30]


def _csv(rows: list[tuple[str, str, str, str, str, str]]) -> bytes:
    """The upload file. Generated values only (no formulas), fed straight to the importer and
    never served, so each cell is simply quoted (addresses span lines), as seed_demo_outcomes
    does with plain joins."""
    header = ("email", "name", "country", "consent", "channel", "address")
    lines = [
        ",".join('"' + cell.replace('"', '""') + '"' for cell in row) for row in [header, *rows]
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _organisations(names: list[str], mailbox: str) -> bytes:
    rows = []
    for i, name in enumerate(names):
        town, postcode = _TOWNS[i % len(_TOWNS)]
        rows.append(
            (
                f"{mailbox}@{_slug(name)}.example",
                name,
                "GB",
                "yes",  # trade contacts who asked for the publisher's trade news
                "email",
                f"{i + 3} Market Street\n{town}\n{postcode}",
            )
        )
    return _csv(rows)


def book_club_members(count: int = 36) -> bytes:
    """Members who opted in to e-mail news (the club's own export holds only those)."""
    rows = []
    for i in range(count):
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i * 5) % len(_LAST)]
        town, postcode = _TOWNS[i % len(_TOWNS)]
        rows.append(
            (
                f"{first.lower()}.{last.lower()}{i + 1}@members.example",
                f"{first} {last}",
                "GB",
                "yes",
                "email",
                f"{i + 1} Chapel Row\n{town}\n{postcode}",
            )
        )
    return _csv(rows)


# audience name -> (description, file name, CSV bytes)
LISTS: dict[str, tuple[str, str, bytes]] = {
    "Retailers and wholesalers": (
        "Trade accounts (bookshops and wholesalers) that asked for the imprint's trade news.",
        "retailers-and-wholesalers.csv",
        _organisations(RETAILERS, "buying"),
    ),
    "Libraries": (
        "Library stock buyers who asked for new-title news.",
        "libraries.csv",
        _organisations(LIBRARIES, "stock"),
    ),
    "Agents": (
        "Literary agencies the imprint deals with, with the rights contact's address.",
        "agents.csv",
        _organisations(AGENCIES, "rights"),
    ),
    "Book club members": (
        "Book club members who opted in to e-mail news.",
        "book-club-members.csv",
        book_club_members(),
    ),
}
