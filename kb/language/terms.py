"""Words as search sees them, in English and Chinese alike: tokens, the one list of stop
words and the index's stem (Porter, as FTS5 stems), shared by the lexical indexes, their
query builders, the term counts, snippet marking and the recommender's topic words.

English, code and other scripts are runs of word characters, as SQLite's `unicode61`
tokenizer splits them. Chinese is written without spaces, so a run of Han characters is cut
into words by jieba (rjieba, its Rust port): the index holds every word jieba's search mode
finds (长词 and the shorter words inside it), a query the words of its precise cut. Full-width
letters, digits and punctuation are folded to their ASCII forms first (NFKC).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

import snowballstemmer

# Han ideographs: the unified block, extension A, compatibility, and extensions B-G.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RUN = re.compile(f"[{HAN}]+")
# A Han run, or a run of other word characters (English, digits, code, kana, hangul).
TOKEN = re.compile(f"[{HAN}]+|[^\\W{HAN}]+")
WORD = re.compile(r"\w+", re.UNICODE)  # kept for callers that want unicode61's own words

# The one English stop-word list: function words, question words and the filler of questions
# ("how do I get ...", "any way to make ...") that carry no topic. Search leaves them out of a
# query's words (unless nothing else is left), and the topic labels of the content-gap report
# and of cycle comments leave them out too; nothing else keeps a list of its own
# (tests/kb/test_language.py checks the source). Words of one domain's own filler ("session",
# "training" in comments about a training) are not stop words: search must find them.
STOPWORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst an and another any anyhow anyone anything anyway anywhere
    are around as ask at be became because become becomes becoming been before beforehand
    behind being below beside besides between beyond both but by can cannot could did do does
    doing done during each either else elsewhere enough even ever every everyone everything
    everywhere except few for former formerly from further get gets getting got had has have he
    hence her here hereafter hereby herein hereupon hers herself him himself his how however i
    if in indeed into is it its itself just latter latterly least less like make makes many may
    me meanwhile might mine more moreover most mostly much must my myself namely need neither
    never nevertheless no nobody none noone nor not nothing now nowhere of off often on once one
    only onto or other others otherwise our ours ourselves over own per perhaps rather same
    seem seemed seeming seems several she should since so some somehow someone something
    sometime sometimes somewhere still such than that the their them themselves then thence
    there thereafter thereby therefore therein thereupon these they this those though through
    throughout thru thus to together too toward towards until upon very via want was way ways
    we well were what whatever when whence whenever where whereafter whereas whereby wherein
    whereupon wherever whether which while whither who whoever whole whom whose why will with
    within without would yet you your yours yourself yourselves
    """.split()
)
# Function words and question words that carry no topic (a query is a question).
ZH_STOPWORDS = frozenset(
    "的 了 是 在 和 与 或 及 而 并 也 都 就 又 还 把 被 让 给 对 从 向 到 于 以 为 之 其 这 那 "
    "这个 那个 这些 那些 一个 一种 我 我们 你 你们 他 她 它 他们 它们 吗 呢 吧 啊 呀 么 "
    "什么 怎么 怎样 怎么样 如何 为什么 为何 哪 哪些 哪个 多少 是否 能否 可以 能 会 要 "
    "应该 需要 有 没有 不 很 更 最 比 等 时 时候 中 里 上 下 个 些 吗 请问 一下".split()
)
# Bumped when the index's words change (segmenter, folding): stores re-index once.
# 3: traditional Chinese folded to simplified; 4: "-bly" words stemmed as FTS5 stems them
# (plausibly -> plausibl), which PostgreSQL's Python-built lexemes had not; 5: the embedded
# store's term counts keyed by the index's own lexemes (`lexemes`: Porter, as FTS5 stems),
# not by a lighter suffix stripper of their own ("tuning" was "tun" there, "tune" in FTS5).
LEXICAL_FORMAT = "5"


def fold(text: str) -> str:
    """Full-width forms to ASCII (ＬｏＲＡ -> LoRA, ２５６ -> 256), and traditional Chinese to
    simplified (卷積神經網絡 -> 卷积神经网络, by OpenCC's t2s tables), as users type and write
    either: the index and the queries meet in one form, the text is shown as written."""
    text = unicodedata.normalize("NFKC", text)
    if has_han(text):
        text = _to_simplified().convert(text)
    return text


@cache
def _to_simplified() -> Any:
    """OpenCC's traditional-to-simplified converter, loaded on the first Chinese text."""
    import opencc

    return opencc.OpenCC("t2s.json")


def has_han(text: str) -> bool:
    return HAN_RUN.search(text) is not None


_OTHER_WORD = re.compile(f"[^\\W\\d{HAN}]+")
# A text is Chinese when Han characters are at least this share of its words, a character
# counted as a word: Chinese prose with English terms and code is, an English page quoting a
# Chinese phrase is not.
ZH_SHARE = 0.3


def language_of(text: str) -> str:
    """ "zh" for Chinese (mixed with English or not), else "en" (English and other scripts)."""
    han = sum(len(run) for run in HAN_RUN.findall(text))
    if not han:
        return "en"
    others = len(_OTHER_WORD.findall(text))
    return "zh" if han >= ZH_SHARE * (han + others) else "en"


@cache
def _segmenter() -> Any:
    """rjieba, imported on the first Chinese text (its dictionary takes ~0.3 s to load)."""
    import rjieba

    return rjieba


def segmenter_version() -> str:
    from importlib.metadata import version

    return f"rjieba {version('rjieba')}"


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of each word in `text`, Chinese cut into words (precise mode);
    offsets are into `text` itself, so a snippet can mark the words where they stand."""
    if not has_han(text):  # most text: one pass of the regex
        return [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]
    found: list[tuple[int, int, str]] = []
    tokenize = _segmenter().tokenize
    for match in TOKEN.finditer(text):
        word = match.group()
        if HAN_RUN.fullmatch(word):
            base = match.start()
            found += [(base + start, base + end, piece) for piece, start, end in tokenize(word)]
        else:
            found.append((match.start(), match.end(), word))
    return found


def index_text(text: str) -> str:
    """The text as the lexical index reads it: Chinese runs replaced by their words, spaced,
    including the shorter words inside long ones (search mode), so that 神经网络 is found by
    神经网络 and by 网络. Text without Chinese is only folded."""
    text = fold(text)
    if not has_han(text):
        return text
    tokenize = _segmenter().tokenize

    def words(run: re.Match[str]) -> str:
        return " " + " ".join(piece for piece, _, _ in tokenize(run.group(), "search")) + " "

    return HAN_RUN.sub(words, text)


def query_words(query: str) -> list[str]:
    """The words of a query worth matching: folded, lower case, Chinese cut into words, stop
    words of both languages dropped (unless that would leave nothing), each once, in order."""
    words = [word.lower() for _, _, word in spans(fold(query))]
    content = [w for w in words if w not in STOPWORDS and w not in ZH_STOPWORDS] or words
    return list(dict.fromkeys(content))


# -- words as the lexical indexes hold them (FTS5's `porter unicode61`; lexical.postgres) ----
_THREAD = threading.local()


def _porter() -> Any:
    """This thread's Porter stemmer: a snowballstemmer object keeps the word it is working on
    in itself, so threads sharing one garble each other's words (seen as IndexError under
    load)."""
    stemmer = getattr(_THREAD, "porter", None)
    if stemmer is None:
        stemmer = _THREAD.porter = snowballstemmer.stemmer("porter")
    return stemmer


# The words of the embedded index's tokenizer (FTS5 `unicode61`): runs of letters and digits,
# so an identifier like lora_alpha is two words there (TOKEN keeps the underscore), and a Han
# run, which `index_text` has already cut into words.
INDEX_WORD = re.compile(f"[{HAN}]+|[^\\W_{HAN}]+")
# FTS5's `porter` passes words shorter or longer than these (in bytes) through unstemmed.
PORTER_MIN_BYTES, PORTER_MAX_BYTES = 3, 64


def _without_diacritic(char: str) -> str:
    """A Latin letter with one diacritic as its plain letter (é -> e), as `unicode61` folds it
    by default; any other character as it is."""
    parts = unicodedata.normalize("NFD", char)
    if len(parts) == 2 and parts[0].isascii() and unicodedata.category(parts[1]) == "Mn":
        return parts[0]
    return char


@lru_cache(maxsize=200_000)
def index_stem(word: str) -> str:
    """A word as FTS5's `porter unicode61` tokenizer indexes it in the embedded store (and
    kb.store.lexical.postgres in PostgreSQL): lower-cased, Latin diacritics removed, then Porter's
    stemmer for English words of 3 to 64 bytes (FTS5 leaves shorter and longer ones as they are:
    `us` stays `us`, `s` is not emptied); other scripts are only lower-cased."""
    word = word.lower()
    if not word.isascii():
        word = "".join(_without_diacritic(char) for char in word)
    if not word.isascii() or not PORTER_MIN_BYTES <= len(word) <= PORTER_MAX_BYTES:
        return word
    stemmed = str(_porter().stemWord(word))
    if stemmed.endswith("bli") and _porter_measure(stemmed[:-3]) > 0:
        # FTS5 follows Porter's later rule (step 2: "bli" -> "ble", then the final "e" goes:
        # plausibly -> plausibl); Snowball's porter keeps "abli" -> "able" only (plausibli)
        return stemmed[:-1]
    return stemmed


def _porter_measure(stem: str) -> int:
    """Porter's m: the number of vowel-consonant sequences in `stem` (y after a consonant is a
    vowel)."""
    pattern: list[str] = []
    for i, char in enumerate(stem):
        vowel = char in "aeiou" or (char == "y" and i > 0 and pattern[-1] == "c")
        pattern.append("v" if vowel else "c")
    return "".join(pattern).count("vc")


def index_words(text: str) -> list[str]:
    """The words of indexed text (`index_text`) or of a query word, as FTS5's `unicode61`
    cuts them (see INDEX_WORD); `index_stem` gives each its lexeme."""
    return INDEX_WORD.findall(text)


def lexemes(text: str) -> list[str]:
    """The lexemes of indexed text (`index_text`) or of a query word, in order, exactly as the
    lexical indexes hold them: its `index_words`, each by `index_stem`. The one rule for
    counting words: the index, its term counts and the content-gap report's topic words all
    count "tuning", "tuned" and "tune" as the one lexeme "tune"."""
    return [index_stem(word) for word in index_words(text)]


def lexeme_key(word: str) -> str:
    """A query word as one key of counted words: its lexemes, spaced (`lora_alpha`: `lora
    alpha`); a word of one lexeme is keyed by that lexeme, as the term counts are."""
    return " ".join(lexemes(word))


def indexed_stems(indexed: str) -> set[str]:
    """The distinct lexemes of a text as `index_text` gives it (the term counts' unit)."""
    return set(lexemes(indexed))


def document_frequencies(texts: Iterable[str]) -> Counter[str]:
    """In how many of `texts` each lexeme occurs, counting words as the index does."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(indexed_stems(index_text(text)))
    return counts
