"""Pure domain: catalog, pricing, cycles and the grant ledger.

Nothing here knows of SQLite, typer or rich, and nothing reads the clock:
every instant is passed in.
"""
