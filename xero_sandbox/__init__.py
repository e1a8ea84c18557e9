"""A local Xero: OAuth, connections, the Accounting API subset Platform CRM uses, limits, faults
and webhooks, served over HTTP on one port. The server needs only the standard library (the
contract checker, the SDK client and the pytest plugin beside it do not); never imported by the
product."""
