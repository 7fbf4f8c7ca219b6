"""The recommender's state: the contract (`base.RecommenderStore`: the catalogue and the
events), one module per backend (`sqlite`, `postgres`), the event values (`events`) and the
catalogue as it stands now, every event replayed (`current`). `api.backends` opens the store
in use.
"""
