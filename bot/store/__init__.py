"""Persistence: versioned files written as they are produced, the SQLite history (migrated,
never reset), calibrated thresholds, the dependency map's storage, and the one recorder every
run goes through."""
