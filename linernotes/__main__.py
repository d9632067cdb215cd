"""`python -m linernotes` is the same as the `linernotes` command."""

from linernotes.cli import main

main()
