"""xAPI statements in and out (ADL xAPI 1.0.3): `statement` reads and checks them (pydantic),
`mapping` says who and what they are about, `importing` turns them into events, `exporting`
turns events into statements, `vocabulary` holds the IRIs. docs/xapi.md describes it all."""
