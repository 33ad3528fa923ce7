"""Spellings: Greek letters and their ASCII names are one symbol; subscript digits are digits."""
from __future__ import annotations

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon",
    "ζ": "zeta", "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda",
    "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau",
    "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi",
    "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
SUBSCRIPTS = {chr(0x2080 + i): str(i) for i in range(10)}
SUPERSCRIPT_DIGITS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5",
                      "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-"}
ASCII_TO_GREEK = {v: k for k, v in GREEK.items() if k not in ("ϵ", "ϕ")}


def normalize(name: str) -> str:
    """The canonical id of a written name: ``σ₁`` and ``sigma1`` are both ``sigma1``."""
    return "".join(GREEK.get(ch, SUBSCRIPTS.get(ch, ch)) for ch in name)


def pretty(name: str) -> str:
    """A display spelling: ``sigma1`` shows as ``σ1``."""
    for ascii_name in sorted(ASCII_TO_GREEK, key=len, reverse=True):
        if name.startswith(ascii_name) and (len(name) == len(ascii_name)
                                            or not name[len(ascii_name)].isalpha()):
            return ASCII_TO_GREEK[ascii_name] + name[len(ascii_name):]
    return name
