"""What every pull from Xero shares: normalising untrusted values, quarantining what cannot be
stored, and fetching a held record again."""
