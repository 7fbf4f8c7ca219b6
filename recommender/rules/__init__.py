"""The answers, pure functions over a `Catalog`: skill gaps (`gaps`), the next module
(`next_module`), plans within a budget (`plan`), materials from the knowledge base
(`materials`), everything for one employee (`recommend`), teams (`team`), colleagues to ask
(`colleagues`, `collaborative`) and feedback replayed (`feedback`). A new rule goes here and
is exported by the package's face (`recommender/__init__.py`).
"""
