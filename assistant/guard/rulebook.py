"""Rule books: the seed corpus/rules.yaml plus every clinic rules file, validated and merged.

    rb = load_rulebooks([corpus/rules.yaml, data/library/mtx.rules.yaml], texts=index.texts)

Rules are data: each names the interventions it governs, the document its verbatim quote comes
from, and a generic kind (schema: the header of corpus/rules.yaml). `check_files` is the same
validation as a list of "FILE:LINE: rule ID: problem" lines for `assistant rules check`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from assistant.config import ELDERLY_AGE
from assistant.cues import compile_terms
from assistant.yamlfast import safe_load as yaml_load
from assistant.guard.patient import ConditionTerms, DrugLexicon, compile_conditions, corpus_dir, drugs_from_entries
from assistant.guard.ruleschema import KINDS, SPEC, bad_patterns, drug_problems, rule_lines
from assistant.guard.ruleschema import problems as rule_problems

__all__ = ["KINDS", "SPEC", "Book", "Rule", "RuleBook", "RuleError", "rule_files", "doc_id", "load_rulebooks",
           "check_files", "load_rules", "default_rules"]
TOP_LEVEL = {"version", "settings", "defaults", "interventions", "conditions", "drugs", "treatment_classes", "rules"}
_UNSPECIFIED_KEYS = ("rules_apply_when_therapy_unspecified", "prp_rules_apply_when_therapy_unspecified")


class RuleError(ValueError):
    """Invalid rules file(s); str() lists every problem as FILE:LINE: rule ID: problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Book:
    """One rules file and its settings."""
    path: Path
    settings: dict[str, Any]

    @property
    def applies_when_unspecified(self) -> bool:
        return bool(next((self.settings[k] for k in _UNSPECIFIED_KEYS if k in self.settings), False))

    @property
    def umbrella(self) -> frozenset[str]:
        return frozenset(str(t).lower() for t in self.settings.get("umbrella_terms") or [])

    @property
    def home(self) -> frozenset[str]:
        """Documents (doc ids) the file's "no therapy named" default speaks for, besides its rules' own."""
        return frozenset(str(d) for d in self.settings.get("home_documents") or [])


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    document: str
    quote: str
    verdicts: dict[str, str]
    interventions: tuple[str, ...]
    bounds: dict[str, Any] = field(default_factory=dict)  # Decimal values, str units (keys ending in "unit")
    assumption: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    book: Book = field(default_factory=lambda: Book(Path("."), {}))
    line: int = 0

    def text(self, lang: str, variant: str = "", **params: Any) -> str:
        """The message for a variant (message_<variant>_<lang>, falling back to message_<lang>)."""
        tpl = self.raw.get(f"message_{variant}_{lang}") or self.raw[f"message_{lang}"]
        return tpl.format(**params)

    @property
    def source(self) -> str:  # the seed's old name for `document`
        return self.document

    @property
    def product(self) -> str:
        return str(self.raw.get("product") or "")

    @property
    def applies_when_unspecified(self) -> bool:
        own = self.raw.get("applies_when_unspecified")
        return self.book.applies_when_unspecified if own is None else bool(own)

    @cached_property
    def specific_rx(self) -> re.Pattern[str]:
        """The rule's interventions that name one therapy (not a family word like 再生医学)."""
        return compile_terms([t for t in self.interventions if t.lower() not in self.book.umbrella])

    @cached_property
    def umbrella_rx(self) -> re.Pattern[str]:
        return compile_terms([t for t in self.interventions if t.lower() in self.book.umbrella])

    @cached_property
    def context_rx(self) -> re.Pattern[str] | None:
        terms = self.raw.get("context_terms")
        return compile_terms(terms) if terms else None


@dataclass
class RuleBook:
    rules: list[Rule]
    settings: dict[str, Any]  # the first file's settings, then keys only later files set
    drugs: DrugLexicon
    corpus_dir: Path
    conditions: dict[str, ConditionTerms] = field(default_factory=dict)
    books: list[Book] = field(default_factory=list)
    # loaded against an index (indexed_only): rules left out because their document was removed from it or
    # their quote is no longer in it (replaced); {rule_id, document, where, reason}, reported by the library
    disabled: list[dict[str, str]] = field(default_factory=list)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def of_kind(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.kind == kind]

    @property
    def condition_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.conditions if k != "pregnant")

    @property
    def elderly_age(self) -> Decimal:
        """settings.elderly_age of the rules files (the guideline gives no age: our assumption), else 65."""
        return Decimal(str(self.settings.get("elderly_age", ELDERLY_AGE)))


# ----------------------------------------------------------------------------- locating files
def rule_files(settings: Any = None) -> list[Path]:
    """The seed rules file plus the library's: <data_dir>/library/*.rules.yaml and **/rules.yaml."""
    if settings is None:
        from assistant.config import Settings
        settings = Settings.load()
        seed = corpus_dir() / "rules.yaml"
    else:
        seed = Path(settings.corpus_dir) / "rules.yaml"
    lib = Path(settings.data_dir) / "library"
    extra = sorted(set(lib.glob("*.rules.yaml")) | set(lib.glob("*.rules.yml")) | set(lib.rglob("rules.yaml")))
    return [seed] + [p for p in extra if p.resolve() != seed.resolve()]


def doc_id(document: str) -> str:
    """"aspn-2024-regenerative-chronic-pain.zh.txt" -> its index doc id (as the API cites it)."""
    return document.split("/")[-1].split(".")[0]


def _document_text(document: str, base: Path, texts: dict[str, str] | None, cache: dict) -> str | None:
    """Index text (by file name or doc id), else the file beside the rules file / in sources/."""
    for key in (document, doc_id(document)):
        if texts and key in texts:
            return texts[key]
    for path in (base / document, base / "sources" / document, corpus_dir() / "sources" / document):
        if path.is_file():
            if path not in cache:
                from assistant.loaders import DocumentError, read_text
                try:
                    cache[path] = read_text(path)
                except DocumentError:
                    cache[path] = None
            return cache[path]
    return None


def _rule(r: dict, book: Book, line: int) -> Rule:
    bounds = {k: (str(v) if str(k).endswith("unit") else Decimal(str(v))) for k, v in (r.get("bounds") or {}).items()}
    if r["kind"] == "threshold":
        bounds |= {"value": Decimal(str(r["value"])), "unit": str(r["unit"])}
    return Rule(str(r["id"]), r["kind"], str(r["document"]), str(r["quote"]), dict(r["verdicts"]),
                tuple(str(t) for t in r["interventions"]), bounds, r.get("assumption") or "", dict(r), book, line)


# ----------------------------------------------------------------------------- loading
def _merge_spec(specs: dict[str, dict], key: str, spec: dict) -> None:
    cur = specs.setdefault(str(key), {})
    for k, v in (spec or {}).items():
        if isinstance(v, list):
            cur[k] = list(dict.fromkeys((cur.get(k) or []) + [str(x) for x in v]))
        else:
            cur.setdefault(k, v)


@dataclass
class _State:
    texts: dict[str, str] | None
    problems: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    books: list[Book] = field(default_factory=list)
    drugs: list[dict] = field(default_factory=list)
    specs: dict[str, dict] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # rule id -> FILE:LINE
    cache: dict = field(default_factory=dict)
    seen: set = field(default_factory=set)
    treatment_classes: set[str] = field(default_factory=set)
    indexed_only: bool = False  # a rule speaks only if its document is in `texts` and quotes it verbatim
    disabled: list[dict[str, str]] = field(default_factory=list)


def flat(v: Any) -> Any:
    """[*msc, *bmac] (YAML aliases of lists) -> one list of surface forms; anything else unchanged."""
    if not isinstance(v, list):
        return v
    return [x for item in v for x in (flat(item) if isinstance(item, list) else [item])]


def _read_file(path: Path, st: _State) -> tuple[dict | None, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        st.problems.append(f"{path}:0: cannot read the rules file ({e})")
        return None, ""
    try:
        data = yaml_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        st.problems.append(f"{path}:{(mark.line + 1) if mark else 0}: invalid YAML ({getattr(e, 'problem', e)})")
        return None, ""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        st.problems.append(f"{path}:1: a rules file needs a 'rules:' list")
        return None, ""
    return data, text


def _lexicons(path: Path, data: dict, st: _State) -> None:
    """Drugs (drugs.yaml beside the file, its `drugs:`) and conditions (`conditions:`) of one file."""
    beside = path.parent / "drugs.yaml"
    if beside.is_file() and beside.resolve() not in st.seen:
        st.seen.add(beside.resolve())
        lex = yaml_load(beside.read_text(encoding="utf-8")) or {}
        st.drugs += lex.get("drugs") or []
        st.treatment_classes |= set(lex.get("treatment_classes") or [])
    st.treatment_classes |= set(data.get("treatment_classes") or [])
    if data.get("drugs") is not None:
        bad = drug_problems(data["drugs"])
        st.problems += [f"{path}:1: {p}" for p in bad]
        st.drugs += [] if bad else data["drugs"]
    for key, spec in (data.get("conditions") or {}).items():
        bad = bad_patterns(spec or {}) if isinstance(spec, dict) else ["must be {terms, patterns, exclude}"]
        st.problems += [f"{path}:1: condition {key}: {p}" for p in bad]
        if not bad:
            _merge_spec(st.specs, key, spec)


def _add_file(path: Path, st: _State) -> None:
    data, text = _read_file(path, st)
    if data is None:
        return
    for key in sorted(set(data) - TOP_LEVEL, key=str):
        m = re.search(rf"^{re.escape(str(key))}\s*:", text, re.M)
        st.problems.append(f"{path}:{text[:m.start()].count(chr(10)) + 1 if m else 1}: unknown top-level key "
                           f"'{key}'; allowed: {', '.join(sorted(TOP_LEVEL))}")
    book = Book(path, dict(data.get("settings") or {}))
    st.books.append(book)
    for k, v in book.settings.items():
        st.settings.setdefault(k, v)
    _lexicons(path, data, st)
    lines = rule_lines(text)
    defaults = data.get("defaults") or {}
    for i, raw in enumerate(data["rules"]):
        line, keys = lines[i] if i < len(lines) else (0, {})
        if not isinstance(raw, dict):
            st.problems.append(f"{path}:{line}: rule #{i + 1}: not a mapping")
            continue
        r = {**defaults, **raw}
        for key in ("interventions", "context_terms", "condition_terms", "measure_terms"):
            r[key] = flat(r.get(key))
        if isinstance(r.get("escalate"), dict):
            r["escalate"] = {**r["escalate"], "interventions": flat(r["escalate"].get("interventions"))}
        r = {k: v for k, v in r.items() if v is not None}
        rid = r.get("id", f"#{i + 1}")
        errs = rule_problems(r)
        if not errs and r["kind"] == "contraindication" and (r.get("condition_terms") or r.get("condition_patterns")):
            spec = {"terms": r.get("condition_terms") or [], "patterns": r.get("condition_patterns") or []}
            errs += [("condition_patterns", p) for p in bad_patterns(spec)]
            _merge_spec(st.specs, r["condition"], spec)
        if not errs and st.indexed_only and (why := _not_indexed(r, st.texts or {})):
            st.disabled.append({"rule_id": str(rid), "document": str(r["document"]), "where": f"{path}:{line}",
                                "reason": why})
            continue
        if not errs:
            doc = _document_text(str(r["document"]), path.parent, st.texts, st.cache)
            if doc is None:
                errs.append(("document", f"document {r['document']!r} not found (beside the rules file, in "
                                         "sources/, or in the index texts)"))
            elif str(r["quote"]) not in doc:
                errs.append(("quote", f"quote is not a verbatim substring of {r['document']}"))
        st.problems += [f"{path}:{keys.get(k, line)}: rule {rid}: {msg}" for k, msg in errs]
        if not errs:
            if rid in st.where:
                st.problems.append(f"{path}:{line}: rule {rid}: duplicate id (also at {st.where[rid]})")
                continue
            st.where[rid] = f"{path}:{line}"
            st.rules.append(_rule(r, book, line))


def _not_indexed(r: dict, texts: dict[str, str]) -> str:
    """Why a rule cannot speak for the index it is loaded against ("" when it can)."""
    text = next((texts[k] for k in (str(r["document"]), doc_id(str(r["document"]))) if k in texts), None)
    if text is None:
        return "its document is not in the index (removed)"
    return "" if str(r["quote"]) in text else "its quote is no longer in the document (replaced)"


def _cross_check(st: _State) -> None:
    known = set(st.specs) | {"pregnant"}
    for r in st.rules:
        refs = [r.raw.get("condition")] if r.kind == "contraindication" else []
        refs += [r.raw["unknown_when"]] if r.raw.get("unknown_when") else []
        for c in refs:
            if c not in known:
                st.problems.append(f"{st.where[r.id]}: rule {r.id}: condition {c!r} has no terms (give "
                                   "condition_terms, or define it under conditions:)")
    for d in st.drugs:
        if d.get("implies_condition") and d["implies_condition"] not in known:
            st.problems.append(f"drug {d.get('id')}: implies unknown condition {d['implies_condition']!r}")


def _collect(paths: list[str | Path], texts: dict[str, str] | None = None,
             indexed_only: bool = False) -> tuple[RuleBook, list[str]]:
    st = _State(texts, indexed_only=indexed_only)
    seed = corpus_dir() / "rules.yaml"
    files = [Path(p) / "rules.yaml" if Path(p).is_dir() else Path(p) for p in paths]
    if seed.is_file() and seed.resolve() not in {f.resolve() for f in files if f.exists()}:
        # the shared lexicons (pregnancy and seed condition terms, corpus/drugs.yaml) without the seed's rules
        data, _ = _read_file(seed, st)
        if data is not None:
            _lexicons(seed, data, st)
    for f in files:
        _add_file(f, st)
    _cross_check(st)
    conditions = compile_conditions(st.specs, st.settings)
    base = files[0].parent if files else corpus_dir()
    drugs = DrugLexicon(_unique_drugs(st.drugs), frozenset(st.treatment_classes))
    return RuleBook(st.rules, st.settings, drugs, base, conditions, st.books, st.disabled), st.problems


def _unique_drugs(entries: list[dict]) -> tuple:
    seen, out = set(), []
    for e in entries:
        if e.get("id") not in seen:
            seen.add(e.get("id"))
            out.append(e)
    return drugs_from_entries(out)


def load_rulebooks(paths: list[str | Path], texts: dict[str, str] | None = None,
                   indexed_only: bool = False) -> RuleBook:
    """Validate and merge rules files (the seed first). `texts`: document texts by file name or doc id
    (the index's `Index.texts`), used for quote checks before the files beside the rules files.
    `indexed_only` (serving an index): a rule whose document is not in `texts`, or no longer holds its quote,
    is left out and listed in `RuleBook.disabled` instead of failing the whole load."""
    rb, problems = _collect(paths, texts, indexed_only)
    if problems:
        raise RuleError(problems)
    return rb


def check_files(paths: list[str | Path], texts: dict[str, str] | None = None) -> tuple[list[str], str]:
    """Problems as "FILE:LINE: rule ID: problem" lines, and a one-line summary."""
    rb, problems = _collect(paths, texts)
    docs = sorted({r.document for r in rb.rules})
    summary = (f"{len(paths)} rules file(s), {len(rb.rules)} rules, {len(docs)} document(s): "
               + ("ok, every quote is verbatim" if not problems else f"{len(problems)} problem(s)"))
    return problems, summary


def load_rules(path: str | Path | None = None) -> RuleBook:
    """One rules file (path: the file, or a directory holding rules.yaml; default: the seed corpus)."""
    p = Path(path) if path else corpus_dir()
    return load_rulebooks([p / "rules.yaml" if p.is_dir() else p])


@lru_cache(maxsize=4)
def _cached(key: tuple[tuple[str, int], ...]) -> RuleBook:
    return load_rulebooks([Path(p) for p, _ in key])


def default_rules(texts: dict[str, str] | None = None) -> RuleBook:
    """The seed rules plus the library's rules files (settings.data_dir / "library")."""
    files = [f for f in rule_files() if f.exists()]
    if texts is not None:
        return load_rulebooks(files, texts)
    return _cached(tuple((str(f), f.stat().st_mtime_ns) for f in files))
