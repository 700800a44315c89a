"""``python -m geo_plugin_datasets.demo``."""

from geo_plugin_datasets.demo._driver import main

raise SystemExit(main())
