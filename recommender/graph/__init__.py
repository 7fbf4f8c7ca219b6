"""The knowledge graph: built from the catalogue, the knowledge base and the events (`build`),
and the questions only it answers (`questions`: learning paths, experts, bottlenecks,
bridges).
"""
