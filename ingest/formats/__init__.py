"""File formats: one module per format (`markdown`, `notebook`, `transcript`, `chat`,
`plaintext`, `pdf`, `slides`, `word`, `webpage`), each with a `parse_<format>` that turns one
file into chunks. `registry` holds the suffix table (`TEXT_PARSERS`, `BINARY_PARSERS`) and
`parse_bytes`, the one entry point ingestion calls; `parsed.Parsed` is what every parser
returns; `text` turns a text format's bytes into text. Two modules are shared: `office` (the
zip package check and document properties of Word and PowerPoint files) and `sections`
(heading sections to chunks, for Word, HTML and PDF).

A new format goes here: a module with a `parse_<format>` of the same shape as its neighbours
(text, or bytes and `ReadLimits`; the budget; the token counter; returns `Parsed`; raises
`UnreadableFile`), one row in `registry`'s table, and its document type in `kb.types.DocType`.
"""
