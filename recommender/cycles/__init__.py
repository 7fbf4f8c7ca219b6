"""Training cycles: creating one, and every event kind replayed over the catalogue
(`replay`), results imported from CSV (`csv_import`), the measured effect (`report`), the
report as Markdown or HTML (`export`) and free-text comments grouped by theme (`themes`).
"""
