"""credits: a local ledger and simulator for AI-platform credits."""

__version__ = "0.1.0"
