"""``python -m webapp.client``: the same as the ``taskboard`` command."""

from webapp.client.cli import main

raise SystemExit(main())
