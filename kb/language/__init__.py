"""Words in English and Chinese as every part of kb sees them: `terms` (tokens, stems, jieba's
Chinese words, the query's language) and `bilingual` (a query's words in the other language,
from CC-CEDICT). Below the store and search, above nothing: ingest and the recommender use
them too.
"""
