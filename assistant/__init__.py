"""Bilingual (zh/en) clinical guideline assistant: cited extractive answers and a deterministic guard.

    from assistant import Assistant
    answer = Assistant.load().ask(["PRP注射前需要停用NSAIDs多久?"])

The names below are the public API. They load on first use, so `import assistant` (and `assistant ask`)
imports no more than it needs: never gradio, and Chroma only when an index is opened.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module it lives in
_HOMES = {
    "Assistant": "assistant.api", "check_turns": "assistant.api",
    "Answer": "assistant.model", "Citation": "assistant.model", "GuardFinding": "assistant.model",
    "InputError": "assistant.model", "Passage": "assistant.model", "ScoredPassage": "assistant.model",
    "Settings": "assistant.config", "ConfigError": "assistant.config",
    "GuardResult": "assistant.guard", "RuleBook": "assistant.guard", "check": "assistant.guard",
    "Embedder": "assistant.embed", "get_embedder": "assistant.embed",
    "Searcher": "assistant.retrieve", "Query": "assistant.retrieve",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from .api import Assistant, check_turns
    from .config import ConfigError, Settings
    from .embed import Embedder, get_embedder
    from .guard import GuardResult, RuleBook, check
    from .model import Answer, Citation, GuardFinding, InputError, Passage, ScoredPassage
    from .retrieve import Query, Searcher
