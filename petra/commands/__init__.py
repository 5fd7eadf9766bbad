"""One module per group of `petra` sub-commands; each has `register(subparsers)`."""
