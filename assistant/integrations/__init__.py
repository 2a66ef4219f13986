"""Adapters to other ecosystems; each needs its optional extra (`langchain`: langchain-core)."""
