"""The core of qjobs: errors, models, configuration and the version (private modules)."""
