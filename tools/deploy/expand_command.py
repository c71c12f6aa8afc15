"""The ``expand-template`` command: runs the expansion where samtranslator is installed (the SAM CLI's
virtualenv, ``.venv-sam``: ``make expand``), and elsewhere says where to run it instead of failing on an import."""

from __future__ import annotations

import importlib.util
import sys


def main() -> int:
    if importlib.util.find_spec("samtranslator") is None:
        print(
            "expand-template: error: needs samtranslator, which the SAM CLI's virtualenv has: run "
            ".venv-sam/bin/expand-template (or make expand CONFIG_ENV=...)",
            file=sys.stderr,
        )
        return 2
    from tools.deploy.expand_template import main as expand

    return expand()


if __name__ == "__main__":
    sys.exit(main())
