"""Layer: the database, row writers and lookups (numbering, ledger, links, calendar)."""
