"""``python -m kvconfig``: the ``kvconfig`` command without the console script (e.g. in a ``python`` image)."""

from kvconfig.cli._main import main

if __name__ == "__main__":  # pragma: no branch
    main()
