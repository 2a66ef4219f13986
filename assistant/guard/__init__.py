"""The deterministic guard: rule books (data, validated at load), patient facts read from the form and the
question, and one evaluator per rule kind. Self-contained: it imports the low-level flat modules (model,
cues, quantities, yamlfast) and nothing from retrieval, the web app or the evaluation.

The public API is the engine's (`check`, `GuardResult`, `default_rules`, …); the parts live in
`engine` (check + kind evaluators), `rulebook`/`ruleschema` (rules files), `patient`/`drugs`/`doses`/
`measures` (facts from text and form), `answer_check` (numbers in generated answers).
"""
from .engine import (ECHO_LINES, KINDS, Book, GuardResult, Rule, RuleBook, RuleError, check, check_answer, check_files,
                     default_rules, doc_id, load_rulebooks, load_rules, plain_message, rule_files, stated_doses)

__all__ = ["KINDS", "Book", "Rule", "RuleBook", "RuleError", "GuardResult", "check", "check_answer", "plain_message",
           "stated_doses", "default_rules", "load_rules", "load_rulebooks", "rule_files", "check_files", "doc_id",
           "ECHO_LINES"]
