"""Run as a separate process by test_contact_push_faults: staff edits to linked contacts, the
way the contact form saves them (contacts.services.contact_update), `per_transaction` to a
transaction, with the process's own database connection and broker.

Prints "ready" once set up, then waits for a line on stdin before each transaction and prints
"committed <n>" after it. Contact n (of the ids given in a file, one a line) gets the email
burst-<n>@edited.example. A commit that raises is printed as "error: ..." and ends the run."""

import sys
import traceback


def main(ids_file: str, per_transaction: int) -> None:
    import django

    django.setup()
    from django.db import transaction

    from contacts.models import Contact
    from contacts.services import contact_update

    with open(ids_file) as lines:
        ids = [int(line) for line in lines if line.strip()]
    print("ready", flush=True)
    for start in range(0, len(ids), per_transaction):
        sys.stdin.readline()
        try:
            with transaction.atomic():
                for n in range(start, min(start + per_transaction, len(ids))):
                    contact = Contact.objects.get(pk=ids[n])
                    contact_update(contact=contact, email=edited_email(n))
        except Exception:
            print("error: " + traceback.format_exc().replace("\n", " | "), flush=True)
            raise
        print(f"committed {min(start + per_transaction, len(ids))}", flush=True)


def edited_email(n: int) -> str:
    return f"burst-{n}@edited.example"


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
