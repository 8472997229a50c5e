"""Moderation rules over normalised text: block lists, personal data, spam and length.

``RuleEngine`` is built once from config (block-list automata, compiled patterns) and then
checks each text in one pass per rule family. Every hit becomes a ``Flag`` with its rule
id, severity, action and span in the text it was given; ``advice`` turns flags into what to
fix, in the content's language. Nothing here can hang on hostile input: block lists are
one Aho-Corasick pass, personal-data and operator patterns run on RE2 (linear time), and
the only backtracking-engine pattern (a repeated character) is a fixed, linear one.
It must not know about the model, the adapters' internals or I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick

from qualitygate.config import PatternRuleSettings, RuleSettings, Settings
from qualitygate.grading import localized
from qualitygate.matching import MatchingView, runs_fit
from qualitygate.pii import find_pii
from qualitygate.regex import compile_re2
from qualitygate.schemas import Flag
from qualitygate.segmentation import WordEdges, language_of

# One rule reports at most this many hits, so a result stays small whatever the text.
MAX_FLAGS_PER_RULE = 50
SHARED_TERMS = "default"
# Searches one operator pattern may make in one text (matches, empty ones included).
_MAX_PATTERN_SEARCHES = 4 * MAX_FLAGS_PER_RULE

Normaliser = Callable[[str, str], str]  # (language, text) -> text as the adapter leaves it

# Characters whose runs are layout, not shouting: rules and underlines (dashes, ``=``,
# ``_``, ``~``, ``+``, ``^`` under code), box drawing, blocks and shapes, leader dots, and
# the placeholders and masks docs are full of (``XXXXXXXX``, ``********``, ``########``).
_LAYOUT_CATEGORIES = frozenset({"Pd", "Pc", "Sm"})
_LAYOUT_CHARS = frozenset(".·•…#*/\\^Xx")


def _is_layout(char: str) -> bool:
    if char in _LAYOUT_CHARS or 0x2500 <= ord(char) <= 0x25FF:  # box drawing to shapes
        return True
    return unicodedata.category(char) in _LAYOUT_CATEGORIES


# A link is the characters a URL may hold (RFC 3986, percent-encoded beyond ASCII), so
# Japanese or Chinese text written straight after a link is not part of it.
_URL = compile_re2(r"(?:[Hh][Tt][Tt][Pp][Ss]?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class _Term:
    rule_id: str
    length: int  # of the key, boundary marks included
    lead: int  # 1 when the key starts with a boundary mark (a whole-word start)
    trail: int  # 1 when it ends with one (a whole-word end)
    runs: list[int]  # the term's run lengths (see matching.runs_fit)
    script: str | None  # "zh" for a Han term, "ja" for one with kana: see segmentation


# A noncharacter, marking every edge between a word character and anything else in both
# the terms and the text. A whole-word term's key starts (ends) with a mark, so it matches
# only where the text has one, and Aho-Corasick never reports the matches inside longer
# words that the word check used to throw away one by one: 5,000 nested terms ("a", "aa",
# ...) against a long word cost one pass, not 5,000 reports per character.
_MARK = "\ufdd0"


def _with_marks(text: str) -> tuple[str, list[int]]:
    """``text`` with a mark at every word edge, and each character's index in ``text``."""
    if _MARK in text:
        text = text.replace(_MARK, "\ufffd")
    pieces: list[str] = []
    index_of: list[int] = []
    done = 0
    for match in _WORD_RUN.finditer(text):  # a loop per word, not per character
        start, end = match.span()
        pieces += [text[done:start], _MARK, text[start:end], _MARK]
        index_of.extend(range(done, start))
        index_of.append(start)
        index_of.extend(range(start, end))
        index_of.append(end)
        done = end
    pieces.append(text[done:])
    index_of.extend(range(done, len(text)))
    return "".join(pieces), index_of


# Word characters of the scripts written with spaces between words (isalnum below U+1100);
# Hangul, kana and Han match inside words.
_WORD_RUN = re.compile("[^\\W_\u1100-\U0010ffff]+")


class _WordCheck:
    """Whether a Han or kana hit counts, by ``rules.cjk_match`` and the text's segmenter."""

    def __init__(self, edges: WordEdges, modes: Mapping[str, str], language: str) -> None:
        self._edges, self._modes, self._language = edges, modes, language

    def allows(self, term: _Term, start: int, end: int) -> bool:
        if term.script is None:
            return True
        # Han in Japanese text is Japanese: its words are Sudachi's, not jieba's.
        segmenter = "ja" if self._language == "ja" else term.script
        if self._modes.get(segmenter, "anywhere") != "word":
            return True
        return self._edges.is_word(start, end, segmenter)


def _in_own_script(term: str, term_language: str, text_language: str) -> bool:
    """Is ``term`` (from ``term_language``'s list) written in a script only that language
    uses, so that it can only match a span in that language, whatever the text's language?

    Hangul is Korean and kana Japanese; Han alone is Chinese except in Japanese text, where
    the same characters are Japanese words (``操作``).
    """
    names = [unicodedata.name(char, "") for char in term if not char.isspace()]
    if term_language == "ko":
        return any(name.startswith("HANGUL") for name in names)
    if term_language == "ja":
        return any(name.startswith(("HIRAGANA", "KATAKANA")) for name in names)
    if term_language == "zh":
        return text_language != "ja" and all(name.startswith("CJK") for name in names)
    return False


def _rule_runs(rule: RuleSettings, language: str) -> bool:
    return rule.enabled and (not rule.languages or language in rule.languages)


class RuleEngine:
    """Every configured rule, ready to run; build once per process."""

    def __init__(self, settings: Settings, normalise: Normaliser | None = None) -> None:
        self._settings = settings
        self._rules = settings.rules
        self._normalise = normalise or (lambda _language, text: text)
        self._automata: dict[str, ahocorasick.Automaton | None] = {}
        self._lists_in: dict[int, int] = {}  # block lists per automaton, for the early stop
        self._patterns = [
            (pattern, compile_re2(pattern.pattern, spans_only=True))
            for pattern in self._rules.patterns
        ]
        # A fixed shape (one character, then copies of it): linear on the backtracking engine.
        self._char_run = re.compile(rf"(\S)\1{{{self._rules.spam.repeated_char.min_run - 1},}}")
        self._own_automaton = self._languages_with_own_lists()
        for language in self._own_automaton:
            self._automaton(language)

    # --- block lists --------------------------------------------------------------------

    def _languages_with_own_lists(self) -> set[str]:
        """Languages whose automaton differs from the shared one (own terms or lists)."""
        languages = {SHARED_TERMS, *self._settings.languages}  # their adapters differ
        for blocklist in self._rules.blocklists.values():
            languages.update(blocklist.terms)
            languages.update(blocklist.languages)
        return languages

    def _automaton(self, language: str) -> ahocorasick.Automaton | None:
        """The language's own terms and the shared ones, in one automaton, built once.

        Other languages' terms written in their own script join too (see ``_in_own_script``):
        a Korean term in an English comment is still a Korean term.
        """
        if language not in self._own_automaton:
            language = SHARED_TERMS  # no terms or lists of its own: share one automaton
        if language in self._automata:
            return self._automata[language]
        automaton = ahocorasick.Automaton()
        for name, blocklist in self._rules.blocklists.items():
            if not _rule_runs(blocklist, language):
                continue
            for term_language, terms in blocklist.terms.items():
                own = term_language in (SHARED_TERMS, language)
                for term in terms:
                    if own or _in_own_script(term, term_language, language):
                        self._add_term(automaton, f"blocklist.{name}", term_language, term)
        built = automaton if len(automaton) else None
        if built is not None:
            built.make_automaton()
            rule_ids = {term.rule_id for terms in built.values() for term in terms}
            self._lists_in[id(built)] = len(rule_ids)
        self._automata[language] = built
        return built

    def _add_term(
        self, automaton: ahocorasick.Automaton, rule_id: str, language: str, term: str
    ) -> None:
        normalised = self._normalise(language, term)
        view = MatchingView(normalised)
        if not view.text:
            return
        marked, _ = _with_marks(view.text)
        lead, trail = int(marked[0] == _MARK), int(marked[-1] == _MARK)
        runs = view.runs(0, len(view.text))
        entry = _Term(rule_id, len(marked), lead, trail, runs, language_of(normalised))
        automaton.add_word(marked, [*automaton.get(marked, []), entry])

    def _blocklist_flags(self, text: str, language: str) -> list[Flag]:
        automaton = self._automaton(language)
        if automaton is None:
            return []  # no terms: the view is not even built
        view = MatchingView(text)
        found: dict[tuple[str, int, int], None] = {}
        per_rule: dict[str, int] = {}
        words = _WordCheck(WordEdges(view.original), self._rules.cjk_match, language)
        pieces = [(0, len(view.text))]
        # Spaced letters after a one-letter word ("a i d i o t"): the term may start at
        # the second letter. One more pass over each such span: linear in all.
        pieces += [(start + 1, end) for start, end in view.spaced if end - start > 3]
        for first, last in pieces:
            if not self._scan(automaton, view, (first, last), words, found, per_rule):
                break
        return self._blocklist_found(found)

    def _scan(
        self,
        automaton: ahocorasick.Automaton,
        view: MatchingView,
        piece: tuple[int, int],
        words: _WordCheck,
        found: dict[tuple[str, int, int], None],
        per_rule: dict[str, int],
    ) -> bool:
        """Add the hits in ``view.text[offset:stop]``; False once nothing more can count."""
        offset, stop = piece
        marked, index_of = _with_marks(view.text[offset:stop])
        for last, terms in automaton.iter(marked):
            for term in terms:
                # Every match is a whole-word one (the marks see to it); once every list has
                # all the flags it may report, the rest of the text cannot change the result.
                if per_rule.get(term.rule_id, 0) >= MAX_FLAGS_PER_RULE:
                    if len(per_rule) == self._lists_in[id(automaton)] and all(
                        count >= MAX_FLAGS_PER_RULE for count in per_rule.values()
                    ):
                        return False
                    continue
                first = offset + index_of[last - term.length + 1 + term.lead]
                end_visible = offset + index_of[last - term.trail] + 1
                if view.splits_a_character(first, end_visible) or not runs_fit(
                    term.runs, view.runs(first, end_visible)
                ):
                    continue
                start, end = view.original_span(first, end_visible)
                if not words.allows(term, start, end):
                    continue
                if (term.rule_id, start, end) not in found:
                    found[(term.rule_id, start, end)] = None
                    per_rule[term.rule_id] = per_rule.get(term.rule_id, 0) + 1
        return True

    def _blocklist_found(self, found: dict[tuple[str, int, int], None]) -> list[Flag]:
        flags = []
        for rule_id, start, end in found:
            name = rule_id.split(".", 1)[1]
            blocklist = self._rules.blocklists[name]
            detail = f"term from block list '{name}'"
            flags.append(self._flag(rule_id, "blocklist", blocklist, start, end, detail))
        return flags

    # --- the other families -------------------------------------------------------------

    def _pii_flags(self, text: str, language: str) -> list[Flag]:
        pii = self._rules.pii
        kinds = {kind for kind, rule in pii if _rule_runs(rule, language)}
        if not kinds:
            return []
        return [
            self._flag(
                f"pii.{hit.kind}", "pii", getattr(pii, hit.kind), hit.start, hit.end, hit.detail
            )
            for hit in find_pii(text, kinds)
        ]

    def _spam_flags(self, text: str, language: str) -> list[Flag]:
        spam = self._rules.spam
        flags: list[Flag] = []
        if _rule_runs(spam.repeated_char, language):
            for match in self._char_run.finditer(text):
                if not match.group(1).isdigit() and not _is_layout(match.group(1)):
                    flags.append(self._flag_match("spam.repeated_char", spam.repeated_char, match))
        if _rule_runs(spam.repeated_token, language):
            flags += self._repeated_tokens(text)
        if _rule_runs(spam.link_density, language):
            flags += self._link_density(text)
        return flags

    def _repeated_tokens(self, text: str) -> list[Flag]:
        rule = self._rules.spam.repeated_token
        flags = []
        previous, run_start, run_end, count = "", 0, 0, 0
        for match in [*_WORD.finditer(text), None]:
            word = match.group(0).casefold() if match else None
            if word is not None and word == previous:
                count, run_end = count + 1, match.end()  # type: ignore[union-attr]
                continue
            if count >= rule.min_run:
                detail = f"'{previous}' {count} times in a row"
                flags.append(
                    self._flag("spam.repeated_token", "spam", rule, run_start, run_end, detail)
                )
            if match is not None:
                previous, run_start, run_end, count = word or "", match.start(), match.end(), 1
        return flags

    def _link_density(self, text: str) -> list[Flag]:
        rule = self._rules.spam.link_density
        links = [match.span() for match in _URL.finditer(text)]
        if len(links) < rule.min_links:
            return []
        link_chars = sum(end - start for start, end in links)
        visible_chars = sum(1 for char in text if not char.isspace())
        share = link_chars / max(visible_chars, 1)
        if share < rule.max_link_share:
            return []
        detail = f"{len(links)} links, {share:.0%} of the text"
        return [self._flag("spam.link_density", "spam", rule, links[0][0], links[-1][1], detail)]

    def _length_flags(self, text: str, language: str) -> list[Flag]:
        length = self._rules.length
        size = len(text)
        if _rule_runs(length.too_short, language) and size < length.too_short.chars:
            detail = f"{size} characters, fewer than {length.too_short.chars}"
            return [self._flag("length.too_short", "length", length.too_short, 0, size, detail)]
        if _rule_runs(length.too_long, language) and size > length.too_long.chars:
            detail = f"{size} characters, more than {length.too_long.chars}"
            return [self._flag("length.too_long", "length", length.too_long, 0, size, detail)]
        return []

    def _pattern_flags(self, text: str, language: str) -> list[Flag]:
        flags = []
        for pattern, compiled in self._patterns:
            if _rule_runs(pattern, language):
                flags += self._one_pattern(pattern, compiled, text)
        return flags

    def _one_pattern(self, pattern: PatternRuleSettings, compiled: Any, text: str) -> list[Flag]:
        # Each search may read to the end of the text, so the searches are bounded too
        # (an empty match, possible next to an assertion such as \b, is one search).
        flags = []
        for searches, match in enumerate(compiled.finditer(text), start=1):
            start, end = match.span()
            if end > start:
                rule_id = f"pattern.{pattern.id}"
                flags.append(self._flag(rule_id, pattern.category, pattern, start, end))
            if len(flags) >= MAX_FLAGS_PER_RULE or searches >= _MAX_PATTERN_SEARCHES:
                break
        return flags

    # --- what the pipeline calls ---------------------------------------------------------

    def check(self, text: str, language: str) -> list[Flag]:
        """Every hit in ``text`` (already normalised by the language's adapter)."""
        flags = [
            *self._blocklist_flags(text, language),
            *self._pii_flags(text, language),
            *self._spam_flags(text, language),
            *self._length_flags(text, language),
            *self._pattern_flags(text, language),
        ]
        return _capped(flags)

    def advice(self, flags: Sequence[Flag], language: str) -> list[str]:
        """What to fix for these flags, by rule id or category, in the content's language."""
        texts = self._settings.recommendations.rules
        fallback = self._settings.recommendations.fallback_language
        advice: list[str] = []
        for flag in flags:
            entry = texts.get(flag.rule_id) or texts.get(flag.category)
            if entry:
                advice += localized(entry, language, fallback)
        return list(dict.fromkeys(advice))

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _flag(
        rule_id: str,
        category: str,
        rule: RuleSettings,
        start: int,
        end: int,
        detail: str | None = None,
    ) -> Flag:
        return Flag(
            rule_id=rule_id,
            category=category,
            severity=rule.severity,
            action=rule.action,
            start=start,
            end=end,
            detail=detail,
        )

    def _flag_match(self, rule_id: str, rule: RuleSettings, match: re.Match[str]) -> Flag:
        detail = f"'{match.group(1)}' {match.end() - match.start()} times in a row"
        return self._flag(rule_id, rule_id.split(".")[0], rule, match.start(), match.end(), detail)


def _capped(flags: Iterable[Flag]) -> list[Flag]:
    kept: list[Flag] = []
    per_rule: dict[str, int] = {}
    for flag in flags:
        per_rule[flag.rule_id] = per_rule.get(flag.rule_id, 0) + 1
        if per_rule[flag.rule_id] <= MAX_FLAGS_PER_RULE:
            kept.append(flag)
    return kept
