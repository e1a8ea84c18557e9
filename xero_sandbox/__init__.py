"""A local Xero: OAuth, connections, the Accounting API subset Platform CRM uses, limits, faults
and webhooks, served over HTTP on one port. Standard library only; never imported by the product."""
