"""Demo data for development: the accounts, logins, contacts, tax rates and invoices that
`make dev` loads. At the top of the import graph: it imports the domain, nothing imports it."""
