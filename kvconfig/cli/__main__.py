"""``python -m kvconfig.cli``: the ``kvconfig`` command without the console script."""

from kvconfig.cli._main import main

if __name__ == "__main__":  # pragma: no branch
    main()
