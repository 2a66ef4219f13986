"""LaTeX fragments as text: "$1 5 \\mathrm{mg}$" -> "15 mg", "\\geqslant" -> "≥", scripts kept as ^/_ only where
they mean something. `render_math` returns pieces (text, position in the raw file) for markup's offset map."""
from __future__ import annotations

import re

_SYMBOLS = {
    "geqslant": "≥", "geq": "≥", "ge": "≥", "leqslant": "≤", "leq": "≤", "le": "≤", "lt": "<", "gt": ">",
    "times": "×", "sim": "～", "approx": "≈", "pm": "±", "mp": "∓", "cdot": "·", "div": "÷", "neq": "≠",
    "ne": "≠", "mu": "μ", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ",
    "kappa": "κ", "lambda": "λ", "sigma": "σ", "tau": "τ", "chi": "χ", "circ": "°", "prime": "′",
    "rightarrow": "→", "to": "→", "leftarrow": "←", "uparrow": "↑", "downarrow": "↓", "infty": "∞",
    "ldots": "…", "cdots": "…", "ll": "≪", "gg": "≫", "textless": "<", "textgreater": ">",
    "degree": "°", "ast": "*", "%": "%", "&": "&", "_": "_", "#": "#", "$": "$", "{": "{", "}": "}",
}
_SPACES = {",", ";", ":", " ", "quad", "qquad", "enspace", "thinspace"}
_SILENT = {"left", "right", "big", "Big", "bigg", "Bigg", "!", "displaystyle", "limits", "nolimits"}
_FONTS = {"mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "boldsymbol",
          "operatorname", "rm", "bf", "overline", "underline", "hat", "bar", "tilde", "vec", "dot"}
_TEXTS = {"text", "textrm", "textbf", "textit", "mbox", "textnormal"}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}^_]|\s+|[^\\{}^_\s]")


def circled(n: int) -> str:
    """①..⑳ for 1..20 (Unicode has no single character beyond), else "(n)"."""
    return chr(0x2460 + n - 1) if 1 <= n <= 20 else f"({n})"


def _parse(tex: str, base: int) -> list:
    """Tokens into a tree: groups are lists, tokens are (text, position)."""
    stack: list[list] = [[]]
    for m in _TOKEN.finditer(tex):
        tok = m.group()
        if tok == "{":
            stack.append([])
        elif tok == "}" and len(stack) > 1:
            group = stack.pop()
            stack[-1].append(group)
        elif tok != "}":
            stack[-1].append((tok, base + m.start()))
    while len(stack) > 1:
        group = stack.pop()
        stack[-1].extend(group)
    return stack[0]


def _arg(nodes: list, i: int) -> tuple[list, int]:
    """The argument after position i (a group or a single token) and the index after it."""
    while i < len(nodes) and isinstance(nodes[i], tuple) and nodes[i][0].isspace():
        i += 1
    if i >= len(nodes):
        return [], i
    return (nodes[i] if isinstance(nodes[i], list) else [nodes[i]]), i + 1


def _flat(atoms: list[tuple[str, int, bool]]) -> str:
    return "".join(a[0] for a in atoms)


def _command(name: str, nodes: list, i: int, pos: int, text_mode: bool) -> tuple[list, int]:
    if name in _FONTS or name in _TEXTS:
        arg, i = _arg(nodes, i)
        return _atoms(arg, text_mode or name in _TEXTS), i
    if name == "textcircled":
        arg, i = _arg(nodes, i)
        inner = _flat(_atoms(arg))
        return [(circled(int(inner)) if inner.isdigit() else inner, pos, False)], i
    if name in ("frac", "dfrac", "tfrac"):
        a, i = _arg(nodes, i)
        b, i = _arg(nodes, i)
        return [(_flat(_atoms(a)) + "/" + _flat(_atoms(b)), pos, False)], i
    if name == "sqrt":
        arg, i = _arg(nodes, i)
        return [("√" + _flat(_atoms(arg)), pos, False)], i
    if name in _SILENT:
        return [], i
    if name in _SPACES:
        return [(" ", pos, False)] if text_mode else [("", pos, True)], i
    if name in _SYMBOLS:
        return [(_SYMBOLS[name], pos, False)], i
    if i < len(nodes) and isinstance(nodes[i], list):  # \\unknown{x}: most likely a font, keep x
        arg, i = _arg(nodes, i)
        return _atoms(arg, text_mode), i
    return [(name, pos, False)], i  # an unknown symbol: its name, without the backslash


def _script(kind: str, arg: list, pos: int) -> list:
    inner = _flat(_atoms(arg)).strip()
    if kind == "_" or inner in ("°", "′", "+", "-", "−", "*", "'"):
        return [(inner, pos, False)]
    return [("^" + inner, pos, False)] if inner else []


def _atoms(nodes: list, text_mode: bool = False) -> list[tuple[str, int, bool]]:
    """Rendered pieces (text, position, preceded by a space) of a token list."""
    out: list[tuple[str, int, bool]] = []
    space = False
    i = 0
    while i < len(nodes):
        node = nodes[i]
        i += 1
        if isinstance(node, list):
            new = _atoms(node, text_mode)
        elif node[0].isspace():
            if text_mode:
                out.append((" ", node[1], False))
            space = True
            continue
        elif node[0] in ("^", "_"):
            arg, i = _arg(nodes, i)
            new = _script(node[0], arg, node[1])
        elif node[0].startswith("\\"):
            new, i = _command(node[0][1:], nodes, i, node[1], text_mode)
        else:
            new = [(node[0], node[1], False)]
        new = [a for a in new if a[0] or a[2]]
        if new and not new[0][0]:  # a spacing command ("\\,", "\\quad") in math
            space = True
            continue
        if new and space:
            new[0] = (new[0][0], new[0][1], True)
        space = False if new else space
        out.extend(new)
    return out


def _join(atoms: list[tuple[str, int, bool]], base: int) -> list:
    """OCR spaces go (\"1 5\" -> \"15\"); the space between a number and its unit stays."""
    pieces: list = []
    prev = ""
    for text, pos, space in atoms:
        if not text:
            continue
        if space and prev and (prev[-1].isalnum() or prev[-1] in ")%") and text[0].isalpha() \
                and not (prev[-1].isalpha() and text[0].isalpha()):
            pieces.append((" ", pos))
        pieces.append((text, pos))
        prev = text
    return pieces or [("", base)]


def render_math(tex: str, base: int = 0) -> list:
    """LaTeX fragment -> pieces (text, position)."""
    return _join(_atoms(_parse(tex, base)), base)
