"""Typed calls about invoices and their payments."""

from .errors import BadAnswer, NotFound
from .transport import Transport, request_body, xero_bool


class InvoiceCalls(Transport):
    def invoices_page(
        self, page: int, *, page_size: int = 100, modified_since=None, where: str = ""
    ) -> list:
        """One page of invoices (with their payments), oldest change first."""
        kwargs = {"page": page, "page_size": page_size, "order": "UpdatedDateUTC ASC"}
        if where:
            kwargs["where"] = where
        if modified_since is not None:
            kwargs["if_modified_since"] = modified_since
        return self._list(
            "invoices.page",
            lambda acc, ident, **o: acc.get_invoices(self.connection.tenant_id, **kwargs, **o),
            "Invoices",
        )

    def invoice(self, invoice_id: str) -> dict | None:
        try:
            found = self._list(
                "invoices.get",
                lambda acc, ident, **o: acc.get_invoice(self.connection.tenant_id, invoice_id, **o),
                "Invoices",
            )
        except NotFound:
            return None
        return found[0] if found and isinstance(found[0], dict) else None

    def invoices_by_number(self, numbers: list[str]) -> list:
        return self._list(
            "invoices.find",
            lambda acc, ident, **o: acc.get_invoices(
                self.connection.tenant_id, invoice_numbers=numbers, page=1, **o
            ),
            "Invoices",
        )

    def invoices_save(self, invoices, *, idempotency_key: str) -> list:
        """POST /Invoices?summarizeErrors=false: creates and in-place updates, one answer per
        element (each with its own errors)."""
        body = request_body(invoices)
        return self._list(
            "invoices.save",
            lambda acc, ident, **o: acc.update_or_create_invoices(
                self.connection.tenant_id,
                body,
                summarize_errors=xero_bool(False),
                unitdp=4,
                **o,
            ),
            "Invoices",
            write=True,
            idempotency_key=idempotency_key,
        )

    def payment_create(self, payment, *, idempotency_key: str):
        """POST /Payments with one payment; its answer (with any validation errors)."""
        body = request_body(payment)
        found = self._list(
            "payments.create",
            lambda acc, ident, **o: acc.create_payment(self.connection.tenant_id, body, **o),
            "Payments",
            write=True,
            idempotency_key=idempotency_key,
        )
        if not found:
            raise BadAnswer("Xero's answer to a payment holds no payment.", outcome_unknown=True)
        return found[0]

    def payment_delete(self, payment_id: str, *, idempotency_key: str) -> None:
        self._call(
            "payments.delete",
            lambda acc, ident, **o: acc.delete_payment(
                self.connection.tenant_id, payment_id, {"Status": "DELETED"}, **o
            ),
            raw=True,
            write=True,
            idempotency_key=idempotency_key,
        )
