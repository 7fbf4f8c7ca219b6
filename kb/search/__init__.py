"""Search over the contracts, whatever the backend: `fusion` (dense and lexical candidates,
fused by reciprocal rank), `snippets` (the best window with the matched words marked),
`quality` (did a search find something good?) and `evaluation` (recall, MRR and nDCG on a
labelled query set).
"""
