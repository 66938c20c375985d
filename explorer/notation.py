"""How the pages write numbers: counts with SI prefixes, figures a reader takes in at a glance,
and log-axis ticks in full. Pure formatting, used by the figures, the pages and the claim texts."""
from __future__ import annotations

import math

_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(exponent: int) -> str:
    """3 -> '10³', -7 -> '10⁻⁷'."""
    return f"10{str(exponent).translate(_SUPERSCRIPTS)}"


def human_count(value: float, unit: str = "", tick: bool = False) -> str:
    """138357544 -> '138.36 M'; keeps four significant figures where it matters. A `tick` (a round
    axis value) drops the decimals it does not need: 2e9 -> '2 G'."""
    for threshold, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= threshold:
            return f"{value / threshold:{'g' if tick else '.2f'}}{suffix}{unit}"
    return f"{value:g}{' ' + unit if unit else ''}"


def readable(value: float) -> str:
    """A number as a reader at the back of the room takes it in: 2,671 · 1.12 · 3.4 × 10⁻⁸."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 0.01:
        return f"{value:.3g}"
    exponent = math.floor(math.log10(abs(value)))
    return f"{value / 10 ** exponent:.2f} × {power_of_ten(exponent)}"


def scientific(value: float) -> str:
    """A log-axis tick in full: "0.05", "200", or "2×10⁻⁷" outside 0.01–9999."""
    if 1e-2 <= value < 1e4:
        return f"{value:g}"
    exponent = math.floor(math.log10(value))
    mantissa = round(value / 10 ** exponent, 6)
    power = power_of_ten(exponent)
    return power if mantissa == 1 else f"{mantissa:g}×{power}"
