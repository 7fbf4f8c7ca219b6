"""The lexical index: the contract (`base.LexicalIndex`) and one module per backend (`sqlite`:
FTS5; `postgres`: postings with BM25 in SQL), both by the word rules of `kb.language.terms`
so that both backends match the same words and rank them alike.
"""
