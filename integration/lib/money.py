"""Money rounding per currency: amounts are summed exactly (Decimal) and rounded once, half up,
to the currency's minor unit (ISO 4217: yen has none, the dinars three, most currencies two)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units that differ from two.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get((currency or "").upper(), 2)


def money_round(amount: Decimal | int | str, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return Decimal(str(amount)).quantize(exponent, rounding=ROUND_HALF_UP)
