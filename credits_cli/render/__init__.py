"""Output: exact JSON, and (imported lazily) rich tables for people."""
