"""Run as a separate process by test_invoice_burst_faults: issues invoices the way an import
does, `per_transaction` to a transaction, with the process's own database connection and
broker (so a test can point it at a Redis of its own and take that Redis away mid-burst).

Prints "ready" once set up, then waits for a line on stdin before each transaction (the test
decides when faults land between them) and prints "committed <n>" after it. Every
`pay_every`-th invoice also takes a part payment in the same transaction, and every
`credit_every`-th a payment, then a credit note of 20.00 of which 5.00 is refunded (so its
credit note is created, allocated and refunded in Xero). Invoices go to the
account's contacts in turn. A commit that raises is printed as "error: ..." and ends the run."""

import datetime
import sys
import traceback
from decimal import Decimal


def main(
    account_id: int,
    tax_rate_id: int,
    count: int,
    per_transaction: int,
    pay_every: int,
    credit_every: int = 0,
):
    import django

    django.setup()
    from django.db import transaction

    from contacts.models import Contact
    from invoices.services import (
        LineInput,
        credit_note_create,
        invoice_create,
        invoice_issue,
        payment_record,
    )
    from platform_crm.models import Account
    from taxes.models import TaxRate

    account = Account.objects.get(pk=account_id)
    gst = TaxRate.objects.get(pk=tax_rate_id)
    contacts = list(Contact.objects.filter(account=account).order_by("pk"))

    def issue(n: int) -> None:
        invoice = invoice_create(
            account=account,
            contact=contacts[n % len(contacts)],
            name=f"Burst job {n}",
            due_date=datetime.date.today() + datetime.timedelta(days=29),
            lines=[
                LineInput(
                    description="Labour",
                    quantity=Decimal(1),
                    unit_price=Decimal("100.00") + n,
                    tax_rate=gst,
                )
            ],
        )
        invoice = invoice_issue(invoice=invoice)
        if pay_every and n % pay_every == 0:
            payment_record(invoice=invoice, amount=Decimal("25.00"), reference=f"Burst pay {n}")
        if credit_every and n % credit_every == 0:
            if not invoice.payments.exists():
                payment_record(invoice=invoice, amount=Decimal("25.00"), reference=f"Pay {n}")
            credit_note_create(
                invoice=invoice,
                reason=f"Burst credit {n}",
                amount=Decimal("20.00"),
                refund=Decimal("5.00"),
            )

    print("ready", flush=True)
    for start in range(0, count, per_transaction):
        sys.stdin.readline()
        try:
            with transaction.atomic():
                for n in range(start, min(start + per_transaction, count)):
                    issue(n)
        except Exception:
            print("error: " + traceback.format_exc().replace("\n", " | "), flush=True)
            raise
        print(f"committed {min(start + per_transaction, count)}", flush=True)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:7]))
