"""The project's tooling around the function: packager, builds, local image and SAM runs, operator CLI,
client, deploy rehearsal, benchmarks. Each module with a ``main`` is a console command (pyproject.toml)."""
