"""The Accounting API subset Platform CRM uses, shaped exactly as xero_accounting.yaml."""
