"""Names that look alike but are different: refused, so a claim reads as it is decided.

``let a : real`` beside ``let а : real > 0`` (the second a Cyrillic letter) declares two
names that print the same; a statement about one then reads as a statement about the other.
Two checks, after UTS #39 with a compact table:

* an identifier whose letters mix scripts is refused (``pаram`` with a Cyrillic ``а``),
  except the mathematical convention of this language: Greek letters beside Latin ones
  (``ΔW``, ``σx``), as long as none of those Greek letters is drawn like a Latin one
  (``pοs`` with a Greek omicron is refused);
* two different names of one claim whose *skeletons* are equal (each letter mapped to the
  Latin letter it looks like: Cyrillic ``а`` → ``a``, Greek ``ο`` → ``o``, ``Α`` → ``A``, and
  NFKC folding, so mathematical italic ``𝑎`` → ``a``) are refused, naming both.

Greek letters are ordinary names in this language (``σ``, ``η``, ``α``); only Greek letters
that are drawn like a Latin one (omicron, capital Alpha, …) enter the table, and only
*different* names collide (``σ`` and ``sigma`` are one name).
"""
from __future__ import annotations

import unicodedata
from typing import Optional

# cross-script lookalikes → the Latin letter they are drawn as (from Unicode's
# confusables.txt, restricted to Latin/Greek/Cyrillic letters used in identifiers)
_TO_LATIN = {
    # Cyrillic
    "а": "a", "в": "ʙ", "е": "e", "ё": "ë", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "і": "i", "ї": "ï", "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "ү": "y", "ɡ": "g", "к": "ĸ", "м": "ᴍ", "н": "ʜ", "т": "ᴛ", "п": "ᴨ",
    "А": "A", "В": "B", "Е": "E", "Ё": "Ë", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ї": "Ï", "Ј": "J", "Ѕ": "S", "Ү": "Y",
    "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "l", "Ѵ": "V", "ѵ": "v",
    # Greek letters drawn as Latin ones
    "ο": "o", "ν": "v", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ϲ": "c", "ϳ": "j",
    "Ϲ": "C", "Ϳ": "J",
    # Latin letters drawn as other Latin letters
    "ı": "i", "ȷ": "j", "ℓ": "l",
}


def script(ch: str) -> Optional[str]:
    """The script of a letter (``LATIN``, ``GREEK``, ``CYRILLIC``, …); None for digits,
    marks, subscripts, primes and other non-letters."""
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) == 1:
        ch = folded
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else None


def scripts(name: str) -> list[str]:
    """The scripts of a name's letters, in order of first appearance."""
    out: list[str] = []
    for ch in name:
        s = script(ch)
        if s and s not in out:
            out.append(s)
    return out


def skeleton(name: str) -> str:
    """What a name looks like: NFKC-folded, every lookalike letter mapped to its Latin one."""
    folded = unicodedata.normalize("NFKC", name)
    return "".join(_TO_LATIN.get(ch, ch) for ch in folded)


def describe(name: str) -> str:
    """``'а' (CYRILLIC SMALL LETTER A, U+0430)`` for the letters that are not ASCII."""
    odd = [c for c in name if ord(c) > 127 and c in _TO_LATIN or
           (ord(c) > 127 and script(c) not in (None, "GREEK"))]
    if not odd:
        return f"'{name}'"
    parts = ", ".join(f"{unicodedata.name(c, '?')} U+{ord(c):04X}" for c in dict.fromkeys(odd))
    return f"'{name}' ({parts})"


def mixed_script(name: str) -> Optional[str]:
    """Why ``name`` mixes scripts in a way that misleads, or None when it does not."""
    found = scripts(name)
    if len(found) <= 1:
        return None
    if set(found) <= {"LATIN", "GREEK"}:
        lookalikes = [c for c in name if script(c) == "GREEK" and c in _TO_LATIN]
        if not lookalikes:
            return None  # ΔW, σx: a Greek symbol beside Latin letters
        c = lookalikes[0]
        return (f"the Greek letter {unicodedata.name(c, '?')} (U+{ord(c):04X}) is drawn like "
                f"the Latin '{_TO_LATIN[c]}'")
    return "its letters mix " + " and ".join(s.title() for s in found)
