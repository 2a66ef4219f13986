"""jieba's dictionary from our pickle (assistant.jieba_dict): the same tokenizer as jieba's own loading.

Each case runs in a fresh interpreter, because jieba's default tokenizer is process-global."""
from __future__ import annotations

import json
import subprocess
import sys

TEXT = "富血小板血浆注射后一般需要限制负重1～2周，间充质干细胞的常用剂量为5000万至1亿个细胞。"

SCRIPT = """
import json, sys, time
import jieba
from pathlib import Path
mode, cache = sys.argv[1], Path(sys.argv[2])
t = time.perf_counter()
if mode == "ours":
    from assistant import jieba_dict
    jieba_dict.load(cache)
else:
    jieba.setLogLevel(60)
    jieba.dt.initialize()
print(json.dumps({"cut": jieba.lcut(sys.argv[3]), "search": jieba.lcut_for_search(sys.argv[3]),
                  "words": len(jieba.dt.FREQ), "total": jieba.dt.total,
                  "files": sorted(p.name for p in cache.glob("*"))}, ensure_ascii=False))
"""


def _run(mode: str, cache, text: str = TEXT) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(cache), text], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_the_pickled_dictionary_tokenises_as_jieba_does(tmp_path):
    theirs = _run("jieba", tmp_path / "unused")
    first = _run("ours", tmp_path)  # builds through jieba and writes the pickle
    assert first["files"] == [f"jieba-{__import__('jieba').__version__}-dict.pkl"]
    second = _run("ours", tmp_path)  # reads the pickle
    for got in (first, second):
        assert (got["cut"], got["search"], got["words"], got["total"]) == (
            theirs["cut"], theirs["search"], theirs["words"], theirs["total"])


def test_a_damaged_pickle_falls_back_and_is_rewritten(tmp_path):
    _run("ours", tmp_path)
    pkl = next(tmp_path.glob("*.pkl"))
    pkl.write_bytes(b"not a pickle")
    got = _run("ours", tmp_path)
    assert got["words"] > 100_000 and got["cut"] == _run("jieba", tmp_path / "unused")["cut"]
    assert pkl.stat().st_size > 1_000_000  # rewritten whole
