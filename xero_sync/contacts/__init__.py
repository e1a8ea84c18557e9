"""Contacts from Xero: the import, the pull that keeps them in step, matching, possible
duplicates and the pure mapping of Xero's JSON."""
