"""geo-plugin-example: a geo plugin (kept torch-free: geo imports it to list)."""
