"""`python -m api.cli ...` runs the `kb` command line."""

from api.cli import main

main()
