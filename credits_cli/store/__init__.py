"""Storage: SQLite through the standard sqlite3 module and sqlite-utils.

The hot path (`credits log`) needs only the stdlib connection; sqlite-utils is
imported when the schema has to be created or migrated, and by the reports.
"""
